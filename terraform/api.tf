# The front door: a Function URL (requests may last as long as the
# function's timeout) or an API Gateway HTTP API (30 s at most per request,
# throttling, access logs, custom domain). The relay authenticates callers
# with its API tokens either way.

locals {
  # Without a trailing slash, so that "${local.api_url}/openqq/…" reads right.
  api_url = (
    local.use_domain ? "https://${var.domain_name}" :
    var.relay_endpoint == "function_url" ? trimsuffix(one(aws_lambda_function_url.relay[*].function_url), "/") :
    one(aws_apigatewayv2_api.relay[*].api_endpoint)
  )
}

# --- Function URL -----------------------------------------------------------

resource "aws_lambda_function_url" "relay" {
  count              = var.relay_endpoint == "function_url" ? 1 : 0
  function_name      = aws_lambda_function.relay.function_name
  authorization_type = "NONE"
  invoke_mode        = "BUFFERED"
}

# A public Function URL needs both statements since October 2025: the URL
# may be invoked, and the function may be invoked through it.
resource "aws_lambda_permission" "function_url" {
  count                  = var.relay_endpoint == "function_url" ? 1 : 0
  statement_id           = "OpenqqFunctionUrlPublic"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.relay.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "function_url_invoke" {
  count                    = var.relay_endpoint == "function_url" ? 1 : 0
  statement_id             = "OpenqqFunctionUrlInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.relay.function_name
  principal                = "*"
  invoked_via_function_url = true
}

# --- API Gateway HTTP API ---------------------------------------------------

resource "aws_apigatewayv2_api" "relay" {
  count         = var.relay_endpoint == "http_api" ? 1 : 0
  name          = "${var.name}-relay"
  description   = "OpenQQ Relay: the Openqq HTTP API"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "relay" {
  count                  = var.relay_endpoint == "http_api" ? 1 : 0
  api_id                 = aws_apigatewayv2_api.relay[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.relay.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "relay" {
  count     = var.relay_endpoint == "http_api" ? 1 : 0
  api_id    = aws_apigatewayv2_api.relay[0].id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.relay[0].id}"
}

resource "aws_apigatewayv2_stage" "relay" {
  count       = var.relay_endpoint == "http_api" ? 1 : 0
  api_id      = aws_apigatewayv2_api.relay[0].id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = 100
    throttling_rate_limit  = 50
  }

  # No query string in the log: access_token may travel there.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api[0].arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      method    = "$context.httpMethod"
      path      = "$context.path"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      error     = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_lambda_permission" "http_api" {
  count         = var.relay_endpoint == "http_api" ? 1 : 0
  statement_id  = "OpenqqHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.relay.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.relay[0].execution_arn}/*/*"
}

# --- custom domain (HTTP API only) ------------------------------------------

resource "aws_acm_certificate" "api" {
  count             = local.use_domain ? 1 : 0
  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "api_validation" {
  for_each = var.route53_zone_id == null ? {} : {
    for o in flatten(aws_acm_certificate.api[*].domain_validation_options) : o.domain_name => o
  }
  zone_id         = var.route53_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "api" {
  count                   = local.use_domain && var.route53_zone_id != null ? 1 : 0
  certificate_arn         = aws_acm_certificate.api[0].arn
  validation_record_fqdns = [for r in aws_route53_record.api_validation : r.fqdn]
}

resource "aws_apigatewayv2_domain_name" "api" {
  count       = local.use_domain ? 1 : 0
  domain_name = var.domain_name

  domain_name_configuration {
    # Without a zone, the certificate must have been validated by hand
    # (output dns_records) before this is created.
    certificate_arn = coalesce(one(aws_acm_certificate_validation.api[*].certificate_arn), aws_acm_certificate.api[0].arn)
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
}

resource "aws_apigatewayv2_api_mapping" "api" {
  count       = local.use_domain ? 1 : 0
  api_id      = aws_apigatewayv2_api.relay[0].id
  domain_name = aws_apigatewayv2_domain_name.api[0].id
  stage       = aws_apigatewayv2_stage.relay[0].id
}

resource "aws_route53_record" "api" {
  count   = local.use_domain && var.route53_zone_id != null ? 1 : 0
  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.api[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.api[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}

# The relay as a Lambda function: the openqq binary as "bootstrap" on the
# OS-only runtime, arm64. It reads its secrets from SSM at start.

resource "aws_lambda_function" "relay" {
  function_name                  = local.function_name
  description                    = "OpenQQ Relay: the Openqq HTTP API"
  role                           = aws_iam_role.relay.arn
  runtime                        = "provided.al2023"
  architectures                  = ["arm64"]
  handler                        = "bootstrap"
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  memory_size                    = var.lambda_memory_mb
  timeout                        = local.lambda_timeout
  reserved_concurrent_executions = var.lambda_reserved_concurrency == null ? -1 : var.lambda_reserved_concurrency

  environment {
    variables = {
      OPENQQ_SSM_PATH            = local.relay_ssm_path
      OPENQQ_ACCOUNT             = var.account
      OPENQQ_CHECK_EVENT_TIMEOUT = "${local.check_event_timeout}s"
      OPENQQ_LOG_LEVEL           = var.log_level
      # Not read by the binary: a changed secret changes this value, which
      # replaces every warm environment, so the new secret is read at once.
      SSM_PARAMETER_VERSIONS = join(",", [aws_ssm_parameter.relay_api_tokens.version, aws_ssm_parameter.relay_redis_url.version])
    }
  }

  dynamic "vpc_config" {
    for_each = local.lambda_in_vpc ? ["vpc"] : []

    content {
      subnet_ids         = local.private_subnet_ids
      security_group_ids = [aws_security_group.relay[0].id]
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.relay.name
  }

  depends_on = [aws_iam_role_policy.relay]

  lifecycle {
    precondition {
      condition     = var.domain_name == null || var.relay_endpoint == "http_api"
      error_message = "domain_name needs relay_endpoint = \"http_api\": a Function URL has no custom domain of its own (a CloudFront distribution in front of it would be needed)."
    }

    precondition {
      condition     = local.create_vpc || length(var.private_subnet_ids) > 0
      error_message = "With vpc_id, private_subnet_ids must name the subnets of Redis and the function."
    }
  }
}

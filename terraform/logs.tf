# CloudWatch log groups, created before the writers so that retention
# applies from the first line. The connector logs to the instance's journal
# (journalctl -u openqq-connector through Session Manager).

resource "aws_cloudwatch_log_group" "relay" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "api" {
  count             = var.relay_endpoint == "http_api" ? 1 : 0
  name              = "/aws/apigateway/${var.name}-relay"
  retention_in_days = var.log_retention_days
}

# Secrets as SecureString parameters (the account's aws/ssm key), one path
# per process. Each process reads its path at start (OPENQQ_SSM_PATH, see
# docs/deploy.md), so rotating a secret is: change it here, apply, restart.

resource "random_password" "api_token" {
  count   = var.generate_api_token ? 1 : 0
  length  = 40
  special = false
}

resource "random_password" "webhook_secret" {
  length  = 40
  special = false
}

resource "aws_ssm_parameter" "relay_api_tokens" {
  name        = "${local.relay_ssm_path}/OPENQQ_API_TOKENS"
  description = "API tokens of the relay (comma list; :ro marks read-only)"
  type        = "SecureString"
  value       = join(",", local.api_tokens)

  lifecycle {
    precondition {
      condition     = var.generate_api_token || nonsensitive(length(var.api_tokens)) > 0
      error_message = "The relay needs at least one API token: set api_tokens or generate_api_token = true."
    }
  }
}

resource "aws_ssm_parameter" "relay_redis_url" {
  name        = "${local.relay_ssm_path}/OPENQQ_REDIS_URL"
  description = "Redis URL of the relay, with its AUTH token"
  type        = "SecureString"
  value       = local.redis_url

  lifecycle {
    precondition {
      condition     = local.use_elasticache || nonsensitive(var.external_redis_url != null)
      error_message = "redis_mode = \"external\" needs external_redis_url."
    }
  }
}

resource "aws_ssm_parameter" "connector_redis_url" {
  name        = "${local.connector_ssm_path}/OPENQQ_REDIS_URL"
  description = "Redis URL of the connector, with its AUTH token"
  type        = "SecureString"
  value       = local.redis_url
}

resource "aws_ssm_parameter" "connector_webhook_secret" {
  name        = "${local.connector_ssm_path}/OPENQQ_WEBHOOK_SECRET"
  description = "Secret that signs the connector's webhook deliveries"
  type        = "SecureString"
  value       = local.webhook_secret
}

resource "aws_ssm_parameter" "connector_post_api" {
  count       = length(var.post_api) > 0 ? 1 : 0
  name        = "${local.connector_ssm_path}/OPENQQ_POST_API"
  description = "Webhook URLs of the connector (they may carry credentials)"
  type        = "SecureString"
  value       = join(",", var.post_api)
}

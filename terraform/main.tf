# OpenQQ Relay on AWS: the relay on Lambda (Function URL or HTTP API), the
# connector on one EC2 instance, the state in ElastiCache Redis (or an
# external Redis), the secrets in SSM Parameter Store. docs/deploy.md walks
# through it.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  create_vpc      = var.vpc_id == null
  use_elasticache = var.redis_mode == "elasticache"
  # ElastiCache has no public endpoint: the function joins the VPC to reach it.
  lambda_in_vpc = local.use_elasticache

  vpc_id             = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  private_subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  public_subnet_ids  = local.create_vpc ? aws_subnet.public[*].id : var.public_subnet_ids

  # A function in a VPC without NAT reaches SSM only through an endpoint.
  create_ssm_endpoint = local.lambda_in_vpc && !var.enable_nat_gateway && var.create_ssm_endpoint

  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Each process reads the parameters under its own path at start
  # (OPENQQ_SSM_PATH): the function cannot read the connector's secrets.
  relay_ssm_path     = "/${var.name}/relay"
  connector_ssm_path = "/${var.name}/connector"

  # API Gateway HTTP API ends every request at 30 s: check_event must answer
  # before that, with room for the round trip.
  check_event_timeout = var.relay_endpoint == "http_api" ? min(var.check_event_timeout_seconds, 25) : var.check_event_timeout_seconds
  lambda_timeout      = var.relay_endpoint == "http_api" ? 30 : local.check_event_timeout + 10

  redis_url      = local.use_elasticache ? "rediss://:${random_password.redis_auth[0].result}@${aws_elasticache_replication_group.this[0].primary_endpoint_address}:6379/0" : var.external_redis_url
  api_tokens     = concat(random_password.api_token[*].result, var.api_tokens)
  webhook_secret = var.webhook_secret != null ? var.webhook_secret : random_password.webhook_secret.result

  function_name = "${var.name}-relay"
  use_domain    = var.domain_name != null
}

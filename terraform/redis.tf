# ElastiCache Redis OSS (redis_mode = elasticache): TLS in transit, an AUTH
# token, encryption at rest, no eviction, optional Multi-AZ replica.

resource "random_password" "redis_auth" {
  count = local.use_elasticache ? 1 : 0
  # AUTH tokens: 16-128 printable characters; letters and digits also need no
  # escaping in the rediss:// URL.
  length  = 48
  special = false
}

resource "aws_elasticache_subnet_group" "this" {
  count       = local.use_elasticache ? 1 : 0
  name        = "${var.name}-redis"
  description = "OpenQQ Relay Redis"
  subnet_ids  = local.private_subnet_ids
}

resource "aws_elasticache_parameter_group" "this" {
  count       = local.use_elasticache ? 1 : 0
  name        = "${var.name}-redis7"
  family      = "redis7"
  description = "OpenQQ Relay: never evict (cookies and queues have no TTL)"

  # The default, volatile-lru, may evict keys with a TTL under memory
  # pressure; a full Redis must refuse writes instead.
  parameter {
    name  = "maxmemory-policy"
    value = "noeviction"
  }
}

resource "aws_elasticache_replication_group" "this" {
  count                      = local.use_elasticache ? 1 : 0
  replication_group_id       = "${var.name}-redis"
  description                = "OpenQQ Relay state: session cookies, command and event streams, webhook queues"
  engine                     = "redis"
  engine_version             = var.redis_engine_version
  node_type                  = var.redis_node_type
  port                       = 6379
  parameter_group_name       = aws_elasticache_parameter_group.this[0].name
  subnet_group_name          = aws_elasticache_subnet_group.this[0].name
  security_group_ids         = [aws_security_group.redis[0].id]
  num_cache_clusters         = var.redis_multi_az ? 2 : 1
  automatic_failover_enabled = var.redis_multi_az
  multi_az_enabled           = var.redis_multi_az
  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  auth_token                 = random_password.redis_auth[0].result
  snapshot_retention_limit   = var.redis_snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = true

  lifecycle {
    precondition {
      condition     = !var.redis_multi_az || length(local.private_subnet_ids) >= 2
      error_message = "redis_multi_az needs private subnets in two availability zones."
    }
  }
}

# The VPC (new, or the one given), its endpoints, and the security groups:
# the function and the connector may reach Redis on 6379 and nothing else
# inside; the connector may leave for HTTPS.

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "this" {
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # private DNS of the SSM endpoint
  tags                 = { Name = var.name }
}

resource "aws_internet_gateway" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = { Name = var.name }
}

resource "aws_subnet" "public" {
  count             = local.create_vpc ? var.az_count : 0
  vpc_id            = aws_vpc.this[0].id
  availability_zone = data.aws_availability_zones.available.names[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index)
  tags              = { Name = "${var.name}-public-${count.index}" }
}

resource "aws_subnet" "private" {
  count             = local.create_vpc ? var.az_count : 0
  vpc_id            = aws_vpc.this[0].id
  availability_zone = data.aws_availability_zones.available.names[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, 100 + count.index)
  tags              = { Name = "${var.name}-private-${count.index}" }
}

resource "aws_route_table" "public" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${var.name}-public" }

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }
}

resource "aws_route_table_association" "public" {
  count          = local.create_vpc ? var.az_count : 0
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${var.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = local.create_vpc ? var.az_count : 0
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_eip" "nat" {
  count      = local.create_vpc && var.enable_nat_gateway ? 1 : 0
  domain     = "vpc"
  tags       = { Name = "${var.name}-nat" }
  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count         = local.create_vpc && var.enable_nat_gateway ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = { Name = var.name }
}

resource "aws_route" "private_nat" {
  count                  = local.create_vpc && var.enable_nat_gateway ? 1 : 0
  route_table_id         = aws_route_table.private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

# S3 gateway endpoint: free, and keeps the connector's binary download and
# the AMI's package repositories (served from S3) inside AWS.
resource "aws_vpc_endpoint" "s3" {
  count             = local.create_vpc ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.public[0].id, aws_route_table.private[0].id]
  tags              = { Name = "${var.name}-s3" }
}

# SSM interface endpoint for the function's start-up read. One subnet keeps it
# at one hourly charge; the other AZs reach it across zones.
resource "aws_vpc_endpoint" "ssm" {
  count               = local.create_ssm_endpoint ? 1 : 0
  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.ssm"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [local.private_subnet_ids[0]]
  security_group_ids  = [aws_security_group.endpoints[0].id]
  tags                = { Name = "${var.name}-ssm" }
}

# --- security groups ------------------------------------------------------
# Rules are separate resources so that groups can refer to each other.

resource "aws_security_group" "relay" {
  count       = local.lambda_in_vpc ? 1 : 0
  name_prefix = "${var.name}-relay-"
  description = "OpenQQ relay function: Redis and SSM only"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-relay" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "connector" {
  name_prefix = "${var.name}-connector-"
  description = "OpenQQ connector: Redis and HTTPS out, nothing in"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-connector" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "redis" {
  count       = local.use_elasticache ? 1 : 0
  name_prefix = "${var.name}-redis-"
  description = "OpenQQ Redis: 6379 from the relay function and the connector"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-redis" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "endpoints" {
  count       = local.create_ssm_endpoint ? 1 : 0
  name_prefix = "${var.name}-endpoints-"
  description = "SSM interface endpoint: 443 from the relay function"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-endpoints" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "relay_to_redis" {
  count                        = local.lambda_in_vpc ? 1 : 0
  security_group_id            = aws_security_group.relay[0].id
  referenced_security_group_id = aws_security_group.redis[0].id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "Redis"
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_relay" {
  count                        = local.lambda_in_vpc ? 1 : 0
  security_group_id            = aws_security_group.redis[0].id
  referenced_security_group_id = aws_security_group.relay[0].id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "relay function"
}

resource "aws_vpc_security_group_egress_rule" "relay_to_ssm_endpoint" {
  count                        = local.create_ssm_endpoint ? 1 : 0
  security_group_id            = aws_security_group.relay[0].id
  referenced_security_group_id = aws_security_group.endpoints[0].id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "SSM endpoint"
}

resource "aws_vpc_security_group_ingress_rule" "ssm_endpoint_from_relay" {
  count                        = local.create_ssm_endpoint ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  referenced_security_group_id = aws_security_group.relay[0].id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "relay function"
}

# With a NAT gateway the function reaches SSM's public endpoint.
resource "aws_vpc_security_group_egress_rule" "relay_https_via_nat" {
  count             = local.lambda_in_vpc && var.enable_nat_gateway ? 1 : 0
  security_group_id = aws_security_group.relay[0].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "SSM through the NAT gateway"
}

resource "aws_vpc_security_group_egress_rule" "connector_to_redis" {
  count                        = local.use_elasticache ? 1 : 0
  security_group_id            = aws_security_group.connector.id
  referenced_security_group_id = aws_security_group.redis[0].id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "Redis"
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_connector" {
  count                        = local.use_elasticache ? 1 : 0
  security_group_id            = aws_security_group.redis[0].id
  referenced_security_group_id = aws_security_group.connector.id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "connector"
}

resource "aws_vpc_security_group_egress_rule" "connector_external_redis" {
  count             = local.use_elasticache ? 0 : 1
  security_group_id = aws_security_group.connector.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = var.external_redis_port
  to_port           = var.external_redis_port
  description       = "external Redis"
}

# HTTPS out: the QQ service, SSM (Session Manager and parameters), S3,
# package repositories, and webhook URLs.
resource "aws_vpc_security_group_egress_rule" "connector_https" {
  security_group_id = aws_security_group.connector.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS"
}

resource "aws_vpc_security_group_egress_rule" "connector_extra" {
  for_each          = toset([for p in var.connector_extra_egress_ports : tostring(p)])
  security_group_id = aws_security_group.connector.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  description       = "webhooks on port ${each.value}"
}

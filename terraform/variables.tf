# --- general ------------------------------------------------------------

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix of every resource, and the root of the SSM parameter paths (/<name>/relay, /<name>/connector)."
  type        = string
  default     = "openqq"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name))
    error_message = "name: 2-20 characters, lowercase letters, digits and dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "account" {
  description = "The QQ account the connector logs in as and the relay serves (OPENQQ_ACCOUNT)."
  type        = string
  default     = "default"
}

variable "log_level" {
  description = "OPENQQ_LOG_LEVEL of the relay and the connector: debug, info, warn or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups, in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …, 3653)."
  }
}

# --- network --------------------------------------------------------------

variable "vpc_id" {
  description = "An existing VPC to deploy into. Null creates a new VPC with public and private subnets."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "With vpc_id: subnets (two or more AZs for a multi-AZ Redis) for ElastiCache and the Lambda function's network interfaces."
  type        = list(string)
  default     = []
}

variable "public_subnet_ids" {
  description = "With vpc_id: subnets with a route to an internet gateway; the connector instance goes into the first one."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "Address range of the new VPC (when vpc_id is null)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.42.0.0/16."
  }
}

variable "az_count" {
  description = "Availability zones of the new VPC: one public and one private subnet each."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 3
    error_message = "az_count must be 1, 2 or 3."
  }
}

variable "enable_nat_gateway" {
  description = "Give the private subnets a NAT gateway (about 33 USD a month plus traffic). Without it the Lambda function reaches SSM through an interface endpoint and nothing else outside the VPC."
  type        = bool
  default     = false
}

variable "create_ssm_endpoint" {
  description = "Create an SSM interface endpoint for the Lambda function when it runs in the VPC without a NAT gateway. Set false when the VPC already has one with private DNS."
  type        = bool
  default     = true
}

# --- Redis ----------------------------------------------------------------

variable "redis_mode" {
  description = "elasticache: a Redis replication group in the VPC (TLS, AUTH). external: use external_redis_url (e.g. a managed Redis reachable over the internet); the Lambda function then runs outside the VPC."
  type        = string
  default     = "elasticache"

  validation {
    condition     = contains(["elasticache", "external"], var.redis_mode)
    error_message = "redis_mode must be elasticache or external."
  }
}

variable "external_redis_url" {
  description = "With redis_mode = external: the OPENQQ_REDIS_URL (rediss://:password@host:port/0, or a sentinel or cluster URL)."
  type        = string
  default     = null
  sensitive   = true
}

variable "external_redis_port" {
  description = "With redis_mode = external: the TCP port the connector may reach on the internet for Redis."
  type        = number
  default     = 6379
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "redis_engine_version" {
  description = "ElastiCache Redis OSS engine version (major.minor, 7.x: the parameter group family is redis7)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be a 7.x version such as 7.1."
  }
}

variable "redis_multi_az" {
  description = "Run a replica in a second AZ with automatic failover (doubles the ElastiCache cost; needs two private subnets)."
  type        = bool
  default     = false
}

variable "redis_snapshot_retention_days" {
  description = "Days of daily ElastiCache snapshots to keep (0 turns them off)."
  type        = number
  default     = 1
}

# --- relay (Lambda) ---------------------------------------------------------

variable "lambda_zip_path" {
  description = "The package built by infra/build-lambda.sh (arm64), relative to this directory."
  type        = string
  default     = "../dist/openqq-relay-arm64.zip"
}

variable "relay_endpoint" {
  description = "Front door of the relay: function_url (long polls up to the function timeout) or http_api (API Gateway HTTP API; a request may take 30 s at most, so check_event holds 25 s)."
  type        = string
  default     = "function_url"

  validation {
    condition     = contains(["function_url", "http_api"], var.relay_endpoint)
    error_message = "relay_endpoint must be function_url or http_api."
  }
}

variable "check_event_timeout_seconds" {
  description = "How long check_event waits for an event (OPENQQ_CHECK_EVENT_TIMEOUT). Capped at 25 behind the HTTP API."
  type        = number
  default     = 30

  validation {
    condition     = var.check_event_timeout_seconds >= 1 && var.check_event_timeout_seconds <= 600
    error_message = "check_event_timeout_seconds must be between 1 and 600."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the relay function (CPU grows with it)."
  type        = number
  default     = 128
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the relay function, which also caps its Redis connections; null leaves it unreserved (new accounts cannot reserve below their 10-execution floor)."
  type        = number
  default     = null
}

variable "api_tokens" {
  description = "API tokens the relay accepts (OPENQQ_API_TOKENS); a token ending in :ro may only read. Added to the generated one when generate_api_token is true."
  type        = list(string)
  default     = []
  sensitive   = true
}

variable "generate_api_token" {
  description = "Generate one random read-write API token (output api_token)."
  type        = bool
  default     = true
}

variable "domain_name" {
  description = "Custom domain of the API (api.example.com), with relay_endpoint = http_api. Null uses the AWS-generated URL."
  type        = string
  default     = null
}

variable "route53_zone_id" {
  description = "Route 53 public hosted zone of domain_name, for the certificate validation records and the alias; null means you create the DNS records yourself (see the outputs)."
  type        = string
  default     = null
}

# --- connector (EC2) --------------------------------------------------------

variable "connector_instance_type" {
  description = "EC2 instance type of the connector: an arm64 (Graviton) type, since the AMI and the binary are arm64."
  type        = string
  default     = "t4g.micro"

  validation {
    condition     = can(regex("^[a-z]+[0-9]+[a-z]*g[a-z]*\\.[a-z0-9]+$", var.connector_instance_type))
    error_message = "connector_instance_type must be a Graviton (arm64) type such as t4g.nano, t4g.micro or c7g.medium."
  }
}

variable "connector_binary_path" {
  description = "The linux/arm64 openqq binary, relative to this directory; uploaded to a private S3 bucket the instance reads at boot."
  type        = string
  default     = "../dist/openqq-linux-arm64"
}

variable "connector_backend" {
  description = "OPENQQ_BACKEND of the connector: webqq (the real service over HTTPS) or sandbox."
  type        = string
  default     = "webqq"

  validation {
    condition     = contains(["webqq", "sandbox"], var.connector_backend)
    error_message = "connector_backend must be webqq or sandbox."
  }
}

variable "send_interval" {
  description = "OPENQQ_SEND_INTERVAL of the connector: the pause between two sent messages."
  type        = string
  default     = "3s"
}

variable "connector_extra_egress_ports" {
  description = "TCP ports besides 443 the connector may reach on the internet, e.g. [80, 8080] for webhook URLs on those ports."
  type        = list(number)
  default     = []
}

variable "post_api" {
  description = "Webhook URLs the connector delivers to (OPENQQ_POST_API)."
  type        = list(string)
  default     = []
}

variable "webhook_secret" {
  description = "Secret that signs webhook deliveries (OPENQQ_WEBHOOK_SECRET); null generates one (output webhook_secret)."
  type        = string
  default     = null
  sensitive   = true
}

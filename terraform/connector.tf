# The connector on one EC2 instance: Amazon Linux 2023 on arm64, reached
# through Session Manager only (no SSH, no inbound port). The boot script
# installs the binary from a private S3 bucket and the systemd unit from
# infra/systemd; the binary reads its secrets from SSM at every start, and
# the session (cookies) lives in Redis, so a reboot or a replaced instance
# needs no new QR scan.

data "aws_ssm_parameter" "al2023_arm64" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

resource "aws_s3_bucket" "artifacts" {
  bucket_prefix = "${var.name}-artifacts-"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

locals {
  connector_binary_sha256 = filesha256(var.connector_binary_path)
}

resource "aws_s3_object" "connector_binary" {
  bucket = aws_s3_bucket.artifacts.id
  # Content-addressed: a new binary is a new key, hence new user data and a
  # new instance.
  key         = "openqq/${local.connector_binary_sha256}/openqq"
  source      = var.connector_binary_path
  source_hash = local.connector_binary_sha256
}

resource "aws_instance" "connector" {
  ami                         = data.aws_ssm_parameter.al2023_arm64.insecure_value
  instance_type               = var.connector_instance_type
  subnet_id                   = local.public_subnet_ids[0]
  vpc_security_group_ids      = [aws_security_group.connector.id]
  iam_instance_profile        = aws_iam_instance_profile.connector.name
  associate_public_ip_address = true
  user_data_replace_on_change = true
  user_data = templatefile("${path.module}/templates/connector-user-data.sh.tftpl", {
    bucket        = aws_s3_bucket.artifacts.id
    key           = aws_s3_object.connector_binary.key
    sha256        = local.connector_binary_sha256
    region        = local.region
    ssm_path      = local.connector_ssm_path
    account       = var.account
    backend       = var.connector_backend
    send_interval = var.send_interval
    log_level     = var.log_level
    unit          = file("${path.module}/../infra/systemd/openqq-connector.service")
  })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    encrypted   = true
  }

  tags = { Name = "${var.name}-connector" }

  # The parameters exist before the first start reads them.
  depends_on = [
    aws_ssm_parameter.connector_redis_url,
    aws_ssm_parameter.connector_webhook_secret,
    aws_ssm_parameter.connector_post_api,
    aws_iam_role_policy.connector,
  ]

  lifecycle {
    precondition {
      condition     = length(local.public_subnet_ids) > 0
      error_message = "With vpc_id, public_subnet_ids must name a subnet with an internet gateway route for the connector."
    }
  }
}

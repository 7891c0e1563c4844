# Least privilege: the function may write its logs, read its own parameters
# and manage its VPC network interfaces; the connector instance may read its
# own parameters and binary, and be reached through Session Manager.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "relay" {
  name_prefix        = "${var.name}-relay-"
  description        = "OpenQQ relay function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "relay" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.relay.arn}:*"]
  }

  statement {
    sid     = "OwnParameters"
    actions = ["ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.relay_ssm_path}",
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.relay_ssm_path}/*",
    ]
  }

  # What AWSLambdaVPCAccessExecutionRole grants, without its logs:* on "*".
  # These EC2 actions take no resource-level restriction.
  dynamic "statement" {
    for_each = local.lambda_in_vpc ? ["vpc"] : []

    content {
      sid = "VpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "relay" {
  name   = "relay"
  role   = aws_iam_role.relay.id
  policy = data.aws_iam_policy_document.relay.json
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "connector" {
  name_prefix        = "${var.name}-connector-"
  description        = "OpenQQ connector instance"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

# Session Manager (shell and port forwarding) instead of SSH: no inbound port.
resource "aws_iam_role_policy_attachment" "connector_ssm_core" {
  role       = aws_iam_role.connector.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "connector" {
  statement {
    sid     = "OwnParameters"
    actions = ["ssm:GetParametersByPath", "ssm:GetParameters", "ssm:GetParameter"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.connector_ssm_path}",
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.connector_ssm_path}/*",
    ]
  }

  # AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on every
  # parameter; the relay's API tokens stay out of the instance's reach.
  statement {
    sid     = "NotTheRelaysParameters"
    effect  = "Deny"
    actions = ["ssm:GetParameter*"]
    resources = [
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.relay_ssm_path}",
      "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.relay_ssm_path}/*",
    ]
  }

  statement {
    sid       = "Binary"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/${aws_s3_object.connector_binary.key}"]
  }
}

resource "aws_iam_role_policy" "connector" {
  name   = "connector"
  role   = aws_iam_role.connector.id
  policy = data.aws_iam_policy_document.connector.json
}

resource "aws_iam_instance_profile" "connector" {
  name_prefix = "${var.name}-connector-"
  role        = aws_iam_role.connector.name
}

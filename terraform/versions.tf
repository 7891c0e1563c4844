terraform {
  # 1.6: the test framework and the import/check blocks this module may grow into.
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.29 is the first version whose aws_lambda_permission can state
      # lambda:InvokedViaFunctionUrl, which a public Function URL needs since
      # October 2025 (lambda.tf).
      version = "~> 6.29"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = var.name }, var.tags)
  }
}

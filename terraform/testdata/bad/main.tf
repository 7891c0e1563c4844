locals {
  secret_url = "https://x:${var.token}@example.com"
  unused     = "x"
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "a" {
  count      = var.count_of
  vpc_id     = aws_vpc.main.id
  cidr_block = cidrsubnet(aws_vpc.main.cidr_block, 8, count.index)
}

resource "aws_instance" "x" {
  ami           = data.aws_ami.gone.id
  instance_type = var.nope
  subnet_id     = aws_subnet.a.id
  vpc_security_group_ids = [aws_vpc.main[0].id]
  user_data     = local.missing
  tags          = { Name = each.key, Az = aws_vpc.mian.id, M = module.absent.x }
  provider      = aws.east
}

resource "aws_eip" "e" {
  instance = aws_instance.x.id
  domain   = lenght("vpc")
  tags     = { I = count.index, P = path.nowhere, W = terraform.env, S = self.id }
}

resource "random_id" "r" {
  byte_length = length(var.peeks)
}

resource "aws_s3_object" "o" {
  bucket  = "b"
  key     = "k"
  content = templatefile("${path.module}/templates/boot.tftpl", { region = var.region, extra = "x" })
  source  = file("${path.module}/missing.txt")
}

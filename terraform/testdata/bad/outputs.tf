output "vpc" {
  value = aws_vpc.main.id
}

output "url" {
  description = "Leaks a secret."
  value       = local.secret_url
}

output "token" {
  description = "Marked, fine."
  value       = var.token
  sensitive   = true
}

output "subnets" {
  description = "Splat over a counted resource, fine."
  value       = aws_subnet.a[*].id
}

output "eip" {
  description = "Uses the random id."
  value       = "${aws_eip.e.id}-${random_id.r.hex}"
}

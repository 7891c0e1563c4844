output "api_url" {
  description = "Base URL of the Openqq HTTP API (append /openqq/…)."
  value       = local.api_url
}

output "login_page_url" {
  description = "The relay's page with the login QR code; open it with ?access_token=<a token> and scan the code once with the QQ app."
  value       = "${local.api_url}/"
}

output "api_token" {
  description = "The generated read-write API token (null when generate_api_token is false)."
  value       = one(random_password.api_token[*].result)
  sensitive   = true
}

output "webhook_secret" {
  description = "The secret that signs webhook deliveries."
  value       = local.webhook_secret
  sensitive   = true
}

output "relay_function_name" {
  description = "Name of the relay's Lambda function."
  value       = aws_lambda_function.relay.function_name
}

output "connector_instance_id" {
  description = "EC2 instance of the connector."
  value       = aws_instance.connector.id
}

output "connector_shell_command" {
  description = "A shell on the connector through Session Manager (needs the session-manager-plugin); then: journalctl -u openqq-connector -f."
  value       = "aws ssm start-session --region ${local.region} --target ${aws_instance.connector.id}"
}

output "connector_admin_tunnel_command" {
  description = "Forwards the connector's admin listener to http://127.0.0.1:9090 (/healthz, /metrics) through Session Manager."
  value       = "aws ssm start-session --region ${local.region} --target ${aws_instance.connector.id} --document-name AWS-StartPortForwardingSession --parameters '{\"portNumber\":[\"9090\"],\"localPortNumber\":[\"9090\"]}'"
}

output "connector_restart_command" {
  description = "Restarts the connector service (after a secret rotation) without a shell."
  value       = "aws ssm send-command --region ${local.region} --instance-ids ${aws_instance.connector.id} --document-name AWS-RunShellScript --parameters 'commands=[\"systemctl restart openqq-connector\"]'"
}

output "redis_endpoint" {
  description = "Primary endpoint of the ElastiCache replication group (null with an external Redis)."
  value       = one(aws_elasticache_replication_group.this[*].primary_endpoint_address)
}

output "ssm_parameter_paths" {
  description = "SSM paths the relay and the connector read at start."
  value       = { relay = local.relay_ssm_path, connector = local.connector_ssm_path }
}

output "dns_records" {
  description = "With domain_name and no route53_zone_id: the records to create yourself (certificate validation first, then the CNAME to the API)."
  value = local.use_domain && var.route53_zone_id == null ? {
    validation = [for o in flatten(aws_acm_certificate.api[*].domain_validation_options) : "${o.resource_record_name} ${o.resource_record_type} ${o.resource_record_value}"]
    api        = [for d in aws_apigatewayv2_domain_name.api : "${var.domain_name} CNAME ${d.domain_name_configuration[0].target_domain_name}"]
  } : null
}

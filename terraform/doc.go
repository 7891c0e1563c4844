// Package terraform holds the AWS deployment of OpenQQ Relay (the *.tf files
// of this directory: relay on Lambda, connector on EC2, Redis on
// ElastiCache, secrets in SSM) and the offline checks of it: formatting,
// parsing, references, declarations, provider pins and templates, run as Go
// tests without the terraform binary, its providers or the network.
package terraform

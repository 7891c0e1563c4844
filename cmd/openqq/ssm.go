package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// loadSSMParameters reads the secrets and settings kept in SSM Parameter
// Store under OPENQQ_SSM_PATH into the environment, before any
// configuration is parsed. Each parameter <path>/OPENQQ_X sets OPENQQ_X
// unless the environment already has a non-empty value, so an operator can
// still override one setting. Any failure stops the start: a process must
// never run with half of its secrets. Values are never logged.
func loadSSMParameters(ctx context.Context) error {
	p := os.Getenv("OPENQQ_SSM_PATH")
	if p == "" {
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("OPENQQ_SSM_PATH %s: aws config: %w", p, err)
	}
	client := ssm.NewFromConfig(cfg)
	pages := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
		Path:           aws.String(p),
		Recursive:      aws.Bool(false),
		WithDecryption: aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("OPENQQ_SSM_PATH %s: %w", p, err)
		}
		for _, param := range page.Parameters {
			name := path.Base(aws.ToString(param.Name))
			if !strings.HasPrefix(name, "OPENQQ_") || name == "OPENQQ_SSM_PATH" {
				continue
			}
			if os.Getenv(name) != "" {
				continue
			}
			if err := os.Setenv(name, aws.ToString(param.Value)); err != nil {
				return fmt.Errorf("OPENQQ_SSM_PATH %s: %w", p, err)
			}
		}
	}
	return nil
}

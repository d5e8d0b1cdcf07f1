package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/openproton/openproton/internal/server"
)

// deploymentLogCommand prints a deployment's captured output, signing the request with the
// caller's AWS credentials like the aws CLI would.
func deploymentLogCommand() *cobra.Command {
	var endpoint, region, profile string
	cmd := &cobra.Command{
		Use:   "deployment-log DEPLOYMENT_ID",
		Short: "Print the output a deployment's commands produced (its last 256 KiB)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			opts := []func(*awsconfig.LoadOptions) error{}
			if profile != "" {
				opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
			}
			if region != "" {
				opts = append(opts, awsconfig.WithRegion(region))
			}
			cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
			if err != nil {
				return fmt.Errorf("load AWS configuration: %w", err)
			}
			if cfg.Region == "" {
				cfg.Region = "us-east-1"
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return fmt.Errorf("credentials: %w", err)
			}
			if endpoint == "" {
				endpoint = firstNonEmpty(os.Getenv("AWS_ENDPOINT_URL_PROTON"), os.Getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:8080")
			}
			u := strings.TrimRight(endpoint, "/") + server.LogPath + url.PathEscape(args[0]) + "/log"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			empty := sha256.Sum256(nil)
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "proton", cfg.Region, time.Now()); err != nil {
				return fmt.Errorf("sign request: %w", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				var e struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				body, _ := io.ReadAll(resp.Body)
				if json.Unmarshal(body, &e) == nil && e.Type != "" {
					return fmt.Errorf("%s: %s", e.Type, e.Message)
				}
				return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			return err
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint-url", "", "server URL (default: AWS_ENDPOINT_URL_PROTON, AWS_ENDPOINT_URL, then http://127.0.0.1:8080)")
	cmd.Flags().StringVar(&region, "region", "", "region to sign for (default: the AWS configuration's, then us-east-1)")
	cmd.Flags().StringVar(&profile, "profile", "", "AWS shared-config profile to take credentials from")
	return cmd
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

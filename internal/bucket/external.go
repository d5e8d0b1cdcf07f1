package bucket

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// External reads bundles from an S3-compatible endpoint outside openproton, with the
// credentials of the standard AWS chain (environment, shared files, roles).
type External struct {
	client *s3.Client
}

var _ Reader = (*External)(nil)

// NewExternal builds a reader for endpoint (path-style addressing, which every
// S3-compatible server supports); region signs the requests.
func NewExternal(ctx context.Context, endpoint, region string) (*External, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("bucket: load AWS configuration: %w", err)
	}
	return newExternal(cfg, endpoint), nil
}

func newExternal(cfg aws.Config, endpoint string) *External {
	return &External{client: s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		// Many S3-compatible servers return no checksums; the SDK would log every such read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})}
}

// Get reads a whole object, refusing ones over maxBytes.
func (e *External) Get(ctx context.Context, bucket, key string, maxBytes int64) ([]byte, error) {
	out, err := e.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var noKey *types.NoSuchKey
		var noBucket *types.NoSuchBucket
		if errors.As(err, &noKey) || errors.As(err, &noBucket) {
			return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	return readObject(out.Body, aws.ToInt64(out.ContentLength), bucket, key, maxBytes)
}

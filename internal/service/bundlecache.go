package service

import (
	"context"
	"fmt"
	"sync"

	"github.com/openproton/openproton/internal/bundle"
	"github.com/openproton/openproton/internal/store"
)

// bundleCache keeps recently used registered bundles parsed: every deployment and every
// spec check needs one, and a registered version's bundle never changes (its digest is part
// of the key, so a version deleted and registered again is loaded afresh).
type bundleCache struct {
	mu      sync.Mutex
	entries map[string]*bundle.Bundle
}

const bundleCacheSize = 256

// load returns v's bundle, parsed with the options its template registered it with.
func (c *bundleCache) load(ctx context.Context, q store.Queries, v *store.TemplateVersion, kind bundle.Kind, opts bundle.Options) (*bundle.Bundle, error) {
	key := fmt.Sprintf("%s/%s/%s/%d/%d/%s", v.AccountID, v.TemplateType, v.TemplateName, v.Major, v.Minor, v.BundleDigest)
	c.mu.Lock()
	b, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	raw, err := q.TemplateVersionBundle(ctx, v.VersionKey)
	if err != nil {
		return nil, err
	}
	b, err = bundle.Load(raw, kind, opts)
	if err != nil {
		return nil, fmt.Errorf("load registered bundle %s:%d.%d: %w", v.TemplateName, v.Major, v.Minor, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= bundleCacheSize {
		c.entries = map[string]*bundle.Bundle{} // simple and bounded; reloading is cheap
	}
	c.entries[key] = b
	return b, nil
}

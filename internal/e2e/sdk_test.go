package e2e

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/proton"
	"github.com/aws/aws-sdk-go-v2/service/proton/types"
	"github.com/aws/smithy-go"
)

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestSDKTemplatesAndTags(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()

	created, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{
		Name: aws.String("vpc"), DisplayName: aws.String("VPC"), Description: aws.String("network"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}, {Key: aws.String("empty"), Value: aws.String("")}},
	})
	if err != nil {
		t.Fatalf("CreateEnvironmentTemplate: %v", err)
	}
	arn := aws.ToString(created.EnvironmentTemplate.Arn)
	if arn != "arn:aws:proton:us-east-1:000000000000:environment-template/vpc" {
		t.Errorf("arn = %s", arn)
	}
	if created.EnvironmentTemplate.CreatedAt == nil || created.EnvironmentTemplate.CreatedAt.IsZero() {
		t.Errorf("createdAt not set")
	}

	tags, err := c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	if got := tagMap(tags.Tags); len(got) != 2 || got["team"] != "platform" || got["empty"] != "" {
		t.Errorf("tags after create = %v", got)
	}

	if _, err := c.TagResource(ctx, &proton.TagResourceInput{ResourceArn: &arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("infra")}, {Key: aws.String("cost"), Value: aws.String("42")},
	}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := c.UntagResource(ctx, &proton.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"empty", "never-set"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}

	// Page one tag at a time with the SDK's own paginator.
	var keys []string
	pages := proton.NewListTagsForResourcePaginator(c, &proton.ListTagsForResourceInput{ResourceArn: &arn, MaxResults: aws.Int32(1)})
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if len(page.Tags) > 1 {
			t.Errorf("page of %d tags with maxResults 1", len(page.Tags))
		}
		for _, tg := range page.Tags {
			keys = append(keys, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		n++
	}
	sort.Strings(keys)
	if want := []string{"cost=42", "team=infra"}; len(keys) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Errorf("paged tags = %v, want %v", keys, want)
	}

	upd, err := c.UpdateEnvironmentTemplate(ctx, &proton.UpdateEnvironmentTemplateInput{Name: aws.String("vpc"), Description: aws.String("")})
	if err != nil {
		t.Fatalf("UpdateEnvironmentTemplate: %v", err)
	}
	if upd.EnvironmentTemplate.Description != nil || aws.ToString(upd.EnvironmentTemplate.DisplayName) != "VPC" {
		t.Errorf("after clearing description: description=%v displayName=%v", upd.EnvironmentTemplate.Description, upd.EnvironmentTemplate.DisplayName)
	}

	sum, err := c.GetResourcesSummary(ctx, &proton.GetResourcesSummaryInput{})
	if err != nil {
		t.Fatalf("GetResourcesSummary: %v", err)
	}
	if got := aws.ToInt32(sum.Counts.EnvironmentTemplates.Total); got != 1 {
		t.Errorf("environmentTemplates total = %d, want 1", got)
	}
	if got := aws.ToInt32(sum.Counts.ServiceTemplates.Total); got != 0 {
		t.Errorf("serviceTemplates total = %d, want 0", got)
	}

	if _, err := c.DeleteEnvironmentTemplate(ctx, &proton.DeleteEnvironmentTemplateInput{Name: aws.String("vpc")}); err != nil {
		t.Fatalf("DeleteEnvironmentTemplate: %v", err)
	}
	_, err = c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: &arn})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tags of a deleted template: err = %v, want ResourceNotFoundException", err)
	}
}

func TestSDKErrorsDecodeToModelledTypes(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()

	_, err := c.TagResource(ctx, &proton.TagResourceInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:environment-template/missing"),
		Tags:        []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tag missing resource: %v, want ResourceNotFoundException", err)
	}

	if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateServiceTemplate(ctx, &proton.UpdateServiceTemplateInput{Name: aws.String("api"), DisplayName: aws.String("API")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("api")})
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("create of a name whose template was modified: %v, want ConflictException", err)
	}

	_, err = c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{
		ResourceArn: aws.String("arn:aws:proton:us-east-1:000000000000:service-template/api"),
		NextToken:   aws.String("Zm9yZ2VkdG9rZW4tYWJjZGVmZ2hpamtsbW5vcA=="),
	})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("forged nextToken: %v, want ValidationException", err)
	}

	// The SDK validates required members itself; a pattern violation reaches the server.
	_, err = c.GetServiceTemplate(ctx, &proton.GetServiceTemplateInput{Name: aws.String("has space")})
	if !errors.As(err, &invalid) {
		t.Errorf("bad name: %v, want ValidationException", err)
	}

	// More than 50 tags on one resource is refused and nothing is written.
	many := make([]types.Tag, 0, 50)
	for i := range 50 {
		many = append(many, types.Tag{Key: aws.String("k" + string(rune('A'+i%26)) + string(rune('a'+i/26))), Value: aws.String("v")})
	}
	arn := aws.String("arn:aws:proton:us-east-1:000000000000:service-template/api")
	if _, err := c.TagResource(ctx, &proton.TagResourceInput{ResourceArn: arn, Tags: many}); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	_, err = c.TagResource(ctx, &proton.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("one-more"), Value: aws.String("v")}}})
	if !errors.As(err, &invalid) {
		t.Errorf("51st tag: %v, want ValidationException", err)
	}
	out, err := c.ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(out.Tags) != 50 {
		t.Errorf("after refused 51st tag: %d tags, err %v; want 50", len(out.Tags), err)
	}
}

func TestSDKAccountSettings(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()

	got, err := c.GetAccountSettings(ctx, &proton.GetAccountSettingsInput{})
	if err != nil {
		t.Fatalf("GetAccountSettings: %v", err)
	}
	if got.AccountSettings == nil || got.AccountSettings.PipelineServiceRoleArn != nil {
		t.Errorf("fresh settings = %+v", got.AccountSettings)
	}
	role := "arn:aws:iam::000000000000:role/pipeline"
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: &role}); err != nil {
		t.Fatalf("UpdateAccountSettings: %v", err)
	}
	cb := "arn:aws:iam::000000000000:role/codebuild"
	upd, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineCodebuildRoleArn: &cb})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.AccountSettings.PipelineServiceRoleArn) != role || aws.ToString(upd.AccountSettings.PipelineCodebuildRoleArn) != cb {
		t.Errorf("an update of one member changed the other: %+v", upd.AccountSettings)
	}
	if _, err := c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: aws.String("")}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetAccountSettings(ctx, &proton.GetAccountSettingsInput{})
	if got.AccountSettings.PipelineServiceRoleArn != nil || aws.ToString(got.AccountSettings.PipelineCodebuildRoleArn) != cb {
		t.Errorf("after clearing the service role: %+v", got.AccountSettings)
	}

	_, err = c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineServiceRoleArn: aws.String("not-an-arn")})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("bad role arn: %v, want ValidationException", err)
	}
	_, err = c.UpdateAccountSettings(ctx, &proton.UpdateAccountSettingsInput{PipelineProvisioningRepository: &types.RepositoryBranchInput{
		Provider: types.RepositoryProviderGithub, Name: aws.String("org/infra"), Branch: aws.String("main")}})
	if !errors.As(err, &invalid) {
		t.Errorf("unregistered repository: %v, want ValidationException", err)
	}
}

func TestConcurrentIdenticalCreatesMakeOneResource(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	const n = 16
	var wg sync.WaitGroup
	created := make([]*types.EnvironmentTemplate, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := c.CreateEnvironmentTemplate(ctx, &proton.CreateEnvironmentTemplateInput{Name: aws.String("race"),
				Tags: []types.Tag{{Key: aws.String("i"), Value: aws.String("x")}}})
			errs[i] = err
			if err == nil {
				created[i] = out.EnvironmentTemplate
			}
		})
	}
	wg.Wait()
	// Each retry of an identical create answers with the one template that was made.
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if !aws.ToTime(created[i].CreatedAt).Equal(aws.ToTime(created[0].CreatedAt)) {
			t.Errorf("create %d answered another template (created %v vs %v)", i, created[i].CreatedAt, created[0].CreatedAt)
		}
	}
	list, err := c.ListEnvironmentTemplates(ctx, &proton.ListEnvironmentTemplatesInput{})
	if err != nil || len(list.Templates) != 1 {
		t.Errorf("templates after race: %d (%v), want 1", len(list.Templates), err)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startServer(t, dir)
	if _, err := srv.admin().CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: aws.String("kept"),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)

	srv = startServer(t, dir)
	got, err := srv.admin().GetServiceTemplate(ctx, &proton.GetServiceTemplateInput{Name: aws.String("kept")})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	tags, err := srv.admin().ListTagsForResource(ctx, &proton.ListTagsForResourceInput{ResourceArn: got.ServiceTemplate.Arn})
	if err != nil || tagMap(tags.Tags)["a"] != "b" {
		t.Errorf("tags after restart: %v %v", tags, err)
	}
}

func TestPaginationAcrossTemplates(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, "")
	c := srv.admin()
	for i := range 23 {
		name := "t" + string(rune('a'+i))
		if _, err := c.CreateServiceTemplate(ctx, &proton.CreateServiceTemplateInput{Name: &name}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	pages := proton.NewListServiceTemplatesPaginator(c, &proton.ListServiceTemplatesInput{MaxResults: aws.Int32(10)})
	var sizes []int
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Templates))
		for _, tpl := range p.Templates {
			if seen[aws.ToString(tpl.Name)] {
				t.Errorf("duplicate %s", aws.ToString(tpl.Name))
			}
			seen[aws.ToString(tpl.Name)] = true
		}
	}
	if len(seen) != 23 || len(sizes) != 3 || sizes[0] != 10 || sizes[2] != 3 {
		t.Errorf("pages %v covering %d templates; want [10 10 3] covering 23", sizes, len(seen))
	}
}

// apiCode extracts the wire error code of any SDK error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

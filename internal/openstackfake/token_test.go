package openstackfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// reauthCinder is cinder with AllowReauth, as a long-running operator
// needs it.
func reauthCinder(t *testing.T, fake *Server, projectID string) (*gophercloud.ServiceClient, string) {
	t.Helper()
	id, secret := fake.AddApplicationCredential(projectID, "operator")
	provider, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: fake.IdentityURL, ApplicationCredentialID: id, ApplicationCredentialSecret: secret, AllowReauth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := openstack.NewBlockStorageV3(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

func TestTokenExpiryAndReauth(t *testing.T) {
	const ttl = 400 * time.Millisecond
	fake := Start(WithTokenTTL(ttl))
	defer fake.Close()
	p := fake.AddProject("demo")
	vol := fake.AddVolume(p, VolumeSeed{})
	c, _ := reauthCinder(t, fake, p)
	ctx := context.Background()

	tok, err := c.ProviderClient.GetAuthResult().(tokens.CreateResult).ExtractToken()
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(tok.ExpiresAt); left <= 0 || left > ttl {
		t.Fatalf("expires_at is %v away, want within %v", left, ttl)
	}
	if _, err := volumes.Get(ctx, c, vol).Extract(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(tok.ExpiresAt))
	// The token has expired: the call is 401, gophercloud gets a new
	// token and retries, and the caller sees success.
	if _, err := volumes.Get(ctx, c, vol).Extract(); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := fake.Count(RouteTokens); n != 2 {
		t.Fatalf("%d token requests, want 2", n)
	}
	var statuses []int
	for _, e := range fake.Log() {
		if e.Route == RouteGetVolume {
			statuses = append(statuses, e.Status)
		}
	}
	if fmt.Sprint(statuses) != "[200 401 200]" {
		t.Fatalf("gets answered %v", statuses)
	}

	// Without reauth the expiry is the caller's error; ExpireTokens
	// spares the wait.
	plain := cinder(t, fake, p)
	fake.ExpireTokens()
	_, err = volumes.Get(ctx, plain, vol).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("expired without reauth: %v, want 401", err)
	}
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || !strings.HasPrefix(unexpected.ResponseHeader.Get("WWW-Authenticate"), "Keystone uri=") {
		t.Fatalf("WWW-Authenticate %q", unexpected.ResponseHeader.Get("WWW-Authenticate"))
	}
	if _, err := volumes.Get(ctx, c, vol).Extract(); err != nil {
		t.Fatalf("reauth after ExpireTokens: %v", err)
	}
}

func TestDefaultTokenLastsAnHour(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	c, _ := reauthCinder(t, fake, p)
	tok, err := c.ProviderClient.GetAuthResult().(tokens.CreateResult).ExtractToken()
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(tok.ExpiresAt); left < 59*time.Minute || left > time.Hour {
		t.Fatalf("expires in %v", left)
	}
}

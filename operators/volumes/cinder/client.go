package cinder

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/utils"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/atrium-dev/atrium/internal/gate"
)

// highest is the newest Block Storage microversion the operator knows; it
// asks for no more, whatever the cloud offers, so that answers keep the
// shape it was written against.
var highest = microversion{3, 64}

// inUseExtend is the microversion from which Cinder extends attached
// volumes.
var inUseExtend = microversion{3, 42}

// Config says how to reach the cloud.
type Config struct {
	// Auth and Endpoint are gophercloud's; LoadCloud fills them from a
	// clouds.yaml.
	Auth     gophercloud.AuthOptions
	Endpoint gophercloud.EndpointOpts
	// TLS is the client's TLS configuration (a cloud's CA), nil for the
	// system's.
	TLS *tls.Config
	// Timeout bounds each request (10s when zero).
	Timeout time.Duration
	// QPS and Burst pace requests to Cinder (10 and 20 when zero).
	QPS   float64
	Burst int
	// InFlight bounds the requests in flight at once (8 when zero): the
	// operator's workers may be more, as most of their time goes to the
	// API server, and Cinder sees no more than this whatever they do.
	InFlight int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// LoadCloud reads the named cloud of a clouds.yaml (its auth, region,
// interface and CA), as the OpenStack CLI would with OS_CLOUD set.
func LoadCloud(file, cloud string) (Config, error) {
	if _, err := os.Stat(file); err != nil {
		return Config{}, fmt.Errorf("clouds.yaml: %w", err)
	}
	auth, ep, tlsCfg, err := clouds.Parse(clouds.WithLocations(file), clouds.WithCloudName(cloud))
	if err != nil {
		return Config{}, fmt.Errorf("cloud %q in %s: %w", cloud, file, err)
	}
	// Re-authenticate when a token expires, so a long-running operator
	// never stops at the token's lifetime.
	auth.AllowReauth = true
	return Config{Auth: auth, Endpoint: ep, TLS: tlsCfg}, nil
}

// Client is the operator's Cinder. It connects on first use, so that the
// operator starts (and reports the cloud as unavailable on its objects)
// while Keystone is down.
type Client struct {
	cfg  Config
	gate *gate.Gate
	// slots holds one token per request in flight.
	slots chan struct{}

	mu sync.Mutex
	bs *gophercloud.ServiceClient
	mv microversion
}

// New makes a client; nothing is sent until the first call.
func New(cfg Config) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 10, 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 8
	}
	cfg.Auth.AllowReauth = true
	return &Client{cfg: cfg, gate: gate.New(cfg.QPS, cfg.Burst, cfg.Now), slots: make(chan struct{}, cfg.InFlight)}
}

// connect authenticates and negotiates the microversion, once.
func (c *Client) connect(ctx context.Context) (*gophercloud.ServiceClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bs != nil {
		return c.bs, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	pc, err := openstack.NewClient(c.cfg.Auth.IdentityEndpoint)
	if err != nil {
		return nil, &Error{Reason: Invalid, Message: "identity endpoint: " + err.Error()}
	}
	if c.cfg.TLS != nil {
		pc.HTTPClient = http.Client{Transport: &http.Transport{TLSClientConfig: c.cfg.TLS, Proxy: http.ProxyFromEnvironment}}
	}
	if err := openstack.Authenticate(ctx, pc, c.cfg.Auth); err != nil {
		return nil, fmt.Errorf("authenticating with Keystone: %w", classify(err, c.cfg.Now()))
	}
	bs, err := openstack.NewBlockStorageV3(pc, c.cfg.Endpoint)
	if err != nil {
		return nil, &Error{Reason: Invalid, Message: "no Block Storage v3 endpoint in the catalog: " + err.Error()}
	}
	sup, err := utils.GetSupportedMicroversions(ctx, bs)
	if err != nil {
		return nil, fmt.Errorf("reading Cinder's versions: %w", classify(err, c.cfg.Now()))
	}
	mv, err := negotiate(sup)
	if err != nil {
		return nil, err
	}
	bs.Microversion = mv.String()
	c.bs, c.mv = bs, mv
	ctrl.Log.WithName("cinder").Info("connected to Cinder", "endpoint", bs.Endpoint, "microversion", mv.String(),
		"cloudMax", fmt.Sprintf("%d.%d", sup.MaxMajor, sup.MaxMinor), "inUseExtend", !mv.less(inUseExtend))
	return bs, nil
}

// negotiate picks the highest microversion both the cloud and the operator
// know; a cloud without v3 microversions is refused.
func negotiate(sup utils.SupportedMicroversions) (microversion, error) {
	min := microversion{sup.MinMajor, sup.MinMinor}
	max := microversion{sup.MaxMajor, sup.MaxMinor}
	if max.major != 3 {
		return microversion{}, &Error{Reason: Invalid, Message: fmt.Sprintf("Cinder offers microversions up to %s; the operator needs 3.x", max)}
	}
	if highest.less(min) {
		return microversion{}, &Error{Reason: Invalid, Message: fmt.Sprintf("Cinder needs at least microversion %s; the operator knows up to %s", min, highest)}
	}
	if max.less(highest) {
		return max, nil
	}
	return highest, nil
}

// Microversion is the negotiated microversion, "" before the first call.
func (c *Client) Microversion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bs == nil {
		return ""
	}
	return c.mv.String()
}

// InUseExtend says whether the cloud extends attached volumes. It is only
// known after a first call; false before.
func (c *Client) InUseExtend() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bs != nil && !c.mv.less(inUseExtend)
}

// call runs one request through the gate with the client's timeout, and
// classifies its failure; a 429 closes the gate.
func call[T any](ctx context.Context, c *Client, name string, f func(context.Context, *gophercloud.ServiceClient) (T, error)) (T, error) {
	var zero T
	if err := c.admit(ctx); err != nil {
		observe(name, err, 0)
		return zero, err
	}
	// A slot is waited for at most one request's timeout: the requests
	// ahead of it end within that. A call that got none was not sent.
	wait := time.NewTimer(c.cfg.Timeout)
	select {
	case c.slots <- struct{}{}:
		wait.Stop()
	case <-wait.C:
		err := &Error{Reason: RateLimited, RetryAfter: time.Second, Message: "every request slot to Cinder stayed busy"}
		observe(name, err, 0)
		return zero, err
	case <-ctx.Done():
		wait.Stop()
		return zero, &Error{Reason: RateLimited, RetryAfter: time.Second, Message: "stopped waiting for a request slot to Cinder"}
	}
	defer func() { <-c.slots }()
	start := time.Now()
	v, err := func() (T, error) {
		bs, err := c.connect(ctx)
		if err != nil {
			return zero, err
		}
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		v, err := f(ctx, bs)
		return v, classify(err, c.cfg.Now())
	}()
	observe(name, err, time.Since(start))
	if e := (*Error)(nil); errors.As(err, &e) && e.Reason == RateLimited && e.Status != 0 {
		// Keystone's 429 as much as Cinder's: nothing is sent until the
		// wait is over.
		c.gate.Close(max(e.RetryAfter, time.Second))
	}
	if err != nil {
		return zero, err
	}
	return v, nil
}

// admit asks the gate whether a call may leave now. It never blocks: a
// call kept back is a RateLimited error with the time left (Status 0, see
// Gated), so the reconcile requeues instead of holding a worker. A call
// made for an object (For) keeps its turn when it is kept back.
func (c *Client) admit(ctx context.Context) error {
	return gated(c.gate.Take(gate.KeyOf(ctx)))
}

// Hold asks for a turn for the object of ctx (For) and keeps it for the
// object's next call, which then leaves for sure: the operator holds a turn
// before writing down that it is about to create a volume, so that a create
// the pacing keeps back never costs the two status writes of recording it
// and taking the record back. A Gated error says how long to wait.
func (c *Client) Hold(ctx context.Context) error {
	return gated(c.gate.Hold(gate.KeyOf(ctx)))
}

func gated(wait time.Duration, closed bool) error {
	return gate.Refusal("Cinder", wait, closed, func(wait time.Duration, why string) error {
		return &Error{Reason: RateLimited, RetryAfter: wait, Message: why}
	})
}

// For marks the calls made with the returned context as made for one
// object (its UID), which keeps its turn when the pacing keeps it back
// (gate.For).
func For(ctx context.Context, key string) context.Context { return gate.For(ctx, key) }

// Volume is what the operator needs of a Cinder volume.
type Volume struct {
	ID, Name, Status string
	Size             int
	Zone, Type       string
	SnapshotID       string
	Metadata         map[string]string
	Attached         bool
	CreatedAt        time.Time
}

func fromCinder(v *volumes.Volume) *Volume {
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return &Volume{ID: v.ID, Name: v.Name, Status: v.Status, Size: v.Size, Zone: v.AvailabilityZone,
		Type: v.VolumeType, SnapshotID: v.SnapshotID, Metadata: md, Attached: len(v.Attachments) > 0, CreatedAt: v.CreatedAt}
}

// Snapshot is what the operator needs of a Cinder snapshot.
type Snapshot struct {
	ID, VolumeID, Status string
	Size                 int
	Metadata             map[string]string
}

// Get reads one volume.
func (c *Client) Get(ctx context.Context, id string) (*Volume, error) {
	return call(ctx, c, "get", func(ctx context.Context, bs *gophercloud.ServiceClient) (*Volume, error) {
		v, err := volumes.Get(ctx, bs, id).Extract()
		if err != nil {
			return nil, err
		}
		return fromCinder(v), nil
	})
}

// List reads every volume whose metadata has all of match, across pages.
// Each page's answer is decoded straight into the volumes (listPage), one
// page at a time (Cinder's limit, 1,000 by default), besides the small
// Volumes kept. gophercloud's pager would decode every page into generic
// maps and then encode and decode it again to extract the volumes: at
// 10,000 volumes some 350 MB allocated for one list at a cold start, and
// the maps of a whole page live at once (with AllPages, of every page:
// half a gigabyte, once the operator's peak).
func (c *Client) List(ctx context.Context, match map[string]string) ([]*Volume, error) {
	return call(ctx, c, "list", func(ctx context.Context, bs *gophercloud.ServiceClient) ([]*Volume, error) {
		q, err := volumes.ListOpts{Metadata: match}.ToVolumeListQuery()
		if err != nil {
			return nil, err
		}
		out := []*Volume{}
		seen := map[string]bool{}
		for url := bs.ServiceURL("volumes", "detail") + q; url != ""; {
			// A cloud that links a page to one already read would keep the
			// operator listing for ever.
			if seen[url] {
				return nil, fmt.Errorf("cinder linked the volume list back to a page already read")
			}
			seen[url] = true
			page, err := readPage(ctx, bs, url)
			if err != nil {
				return nil, err
			}
			for i := range page.Volumes {
				// The filter is Cinder's; check it again, so that a cloud
				// that ignored it can never hand the operator a stranger's
				// volume.
				if matches(page.Volumes[i].Metadata, match) {
					out = append(out, fromCinder(&page.Volumes[i]))
				}
			}
			url = ""
			if len(page.Volumes) > 0 {
				url = page.next()
			}
		}
		return out, nil
	})
}

// listPage is one page of Cinder's volume list: the volumes and the links
// to the pages around it.
type listPage struct {
	Volumes []volumes.Volume   `json:"volumes"`
	Links   []gophercloud.Link `json:"volumes_links"`
}

// next is the page after this one, or "" on the last.
func (p *listPage) next() string {
	for _, l := range p.Links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

// readPage asks for one page of the list, through the service client (its
// token, microversion and retries, as gophercloud's pager would), and
// decodes the answer as it is read.
func readPage(ctx context.Context, bs *gophercloud.ServiceClient, url string) (*listPage, error) {
	resp, err := bs.Get(ctx, url, nil, &gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}, KeepResponseBody: true})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page := &listPage{}
	if err := json.NewDecoder(resp.Body).Decode(page); err != nil {
		return nil, fmt.Errorf("decoding cinder's volume list: %w", err)
	}
	return page, nil
}

func matches(md, match map[string]string) bool {
	for k, v := range match {
		if md[k] != v {
			return false
		}
	}
	return true
}

// CreateRequest is a new volume.
type CreateRequest struct {
	Name, Description string
	Size              int
	Type, Zone        string
	SnapshotID        string
	Metadata          map[string]string
}

// Create asks Cinder for a volume. An Unavailable error means the volume
// may exist all the same: the caller looks for it before asking again.
func (c *Client) Create(ctx context.Context, r CreateRequest) (*Volume, error) {
	return call(ctx, c, "create", func(ctx context.Context, bs *gophercloud.ServiceClient) (*Volume, error) {
		v, err := volumes.Create(ctx, bs, volumes.CreateOpts{
			Name: r.Name, Description: r.Description, Size: r.Size, VolumeType: r.Type,
			AvailabilityZone: r.Zone, SnapshotID: r.SnapshotID, Metadata: r.Metadata,
		}, nil).Extract()
		if err != nil {
			return nil, err
		}
		return fromCinder(v), nil
	})
}

// Extend grows a volume to size GiB.
func (c *Client) Extend(ctx context.Context, id string, size int) error {
	_, err := call(ctx, c, "extend", func(ctx context.Context, bs *gophercloud.ServiceClient) (struct{}, error) {
		return struct{}{}, volumes.ExtendSize(ctx, bs, id, volumes.ExtendSizeOpts{NewSize: size}).ExtractErr()
	})
	return err
}

// SetMetadata replaces a volume's metadata with md.
func (c *Client) SetMetadata(ctx context.Context, id string, md map[string]string) error {
	_, err := call(ctx, c, "update", func(ctx context.Context, bs *gophercloud.ServiceClient) (struct{}, error) {
		_, err := volumes.Update(ctx, bs, id, volumes.UpdateOpts{Metadata: md}).Extract()
		return struct{}{}, err
	})
	return err
}

// Delete deletes a volume.
func (c *Client) Delete(ctx context.Context, id string) error {
	_, err := call(ctx, c, "delete", func(ctx context.Context, bs *gophercloud.ServiceClient) (struct{}, error) {
		return struct{}{}, volumes.Delete(ctx, bs, id, volumes.DeleteOpts{}).ExtractErr()
	})
	return err
}

// Snapshot reads one snapshot.
func (c *Client) Snapshot(ctx context.Context, id string) (*Snapshot, error) {
	return call(ctx, c, "snapshot", func(ctx context.Context, bs *gophercloud.ServiceClient) (*Snapshot, error) {
		s, err := snapshots.Get(ctx, bs, id).Extract()
		if err != nil {
			return nil, err
		}
		md := s.Metadata
		if md == nil {
			md = map[string]string{}
		}
		return &Snapshot{ID: s.ID, VolumeID: s.VolumeID, Status: s.Status, Size: s.Size, Metadata: md}, nil
	})
}

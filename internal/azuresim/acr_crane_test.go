package azuresim

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestACRWithGoContainerRegistry drives the data plane with
// go-containerregistry (what crane uses): Docker token auth by Basic
// credentials of each kind, tag listing by Link paging, manifests whose
// digests it verifies, indexes and config blobs.
func TestACRWithGoContainerRegistry(t *testing.T) {
	s := startACRSim(t)
	opts := func(auth authn.Authenticator) []remote.Option {
		return []remote.Option{remote.WithAuth(auth), remote.WithTransport(s.HTTPClient().Transport), remote.WithContext(context.Background())}
	}
	sp := &authn.Basic{Username: acrApps["pull"][0], Password: "pull-secret"}

	t.Run("crane ls of 100,000 tags", func(t *testing.T) {
		repo, _ := name.NewRepository(acrLogin + "/" + acrBigRepo)
		tags, err := remote.List(repo, opts(sp)...)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) != acrBigCount || tags[0] != "v1.00000" || tags[acrBigCount-1] != "v1.99999" {
			t.Fatalf("%d tags, %s..%s", len(tags), tags[0], tags[len(tags)-1])
		}
	})

	for kind, auth := range map[string]authn.Authenticator{
		"service principal":           sp,
		"null GUID and refresh token": &authn.Basic{Username: acrNullUser, Password: acrRefresh(t, s, acrLogin, "pull")},
		"admin user":                  &authn.Basic{Username: "acrtest", Password: "admin-password-1"},
	} {
		t.Run(kind, func(t *testing.T) {
			for _, tc := range []struct {
				ref string
				mt  types.MediaType
			}{
				{"/library/nginx:latest", types.DockerManifestSchema2},
				{"/team/api:v1.2.0", types.DockerManifestList},
				{"/team/api:v2.0.0-oci", types.OCIManifestSchema1},
			} {
				ref, err := name.ParseReference(acrLogin + tc.ref)
				if err != nil {
					t.Fatal(err)
				}
				desc, err := remote.Get(ref, opts(auth)...) // verifies the body against the digest
				if err != nil {
					t.Fatalf("%s: %v", tc.ref, err)
				}
				if desc.MediaType != tc.mt {
					t.Errorf("%s: media type %s, want %s", tc.ref, desc.MediaType, tc.mt)
				}
				if desc.MediaType.IsIndex() {
					idx, err := desc.ImageIndex()
					if err != nil {
						t.Fatal(err)
					}
					im, err := idx.IndexManifest()
					if err != nil || len(im.Manifests) != 2 || im.Manifests[1].Platform.Architecture != "arm64" {
						t.Errorf("%s: index %+v %v", tc.ref, im, err)
					}
					continue
				}
				img, err := desc.Image()
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile() // fetched from /v2/<repo>/blobs/<digest> and verified
				if err != nil {
					t.Fatalf("%s: config: %v", tc.ref, err)
				}
				if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.Labels["org.opencontainers.image.ref.name"] == "" {
					t.Errorf("%s: config %+v", tc.ref, cf)
				}
			}
		})
	}

	t.Run("no role", func(t *testing.T) {
		repo, _ := name.NewRepository(acrLogin + "/library/nginx")
		if _, err := remote.List(repo, opts(&authn.Basic{Username: acrApps["norole"][0], Password: "norole-secret"})...); err == nil {
			t.Fatal("an identity without a role listed tags")
		}
	})
}

package api

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/service"
)

// fileSecretBody caps a multipart file-secret request: the file (at most
// service.MaxSecretSize) plus framing and the spec part.
const fileSecretBody = service.MaxSecretSize + 64<<10

func secretInput(in *secretIn) service.SecretInput {
	out := service.SecretInput{Type: in.Type, Identifier: in.Identifier, Name: in.Name, Description: in.Description,
		OrgIdentifier: in.OrgIdentifier, ProjectIdentifier: in.ProjectIdentifier, Tags: in.Tags}
	if in.Spec != nil {
		out.SecretManager, out.ValueType, out.Value = in.Spec.SecretManagerIdentifier, in.Spec.ValueType, in.Spec.Value
	}
	return out
}

func decodeSecret(r *http.Request) (*secretIn, error) {
	var req secretRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Secret == nil {
		return nil, failure.InvalidField("secret", "must not be null: the body is {\"secret\": {...}}.")
	}
	return req.Secret, nil
}

// multipartSecret reads Harness's file-secret form: a "spec" part holding
// the JSON {"secret": {...}} and a "file" part with the content.
func multipartSecret(r *http.Request, fileRequired bool) (*secretIn, *secret.Value, error) {
	mt := mediaType(r)
	if mt != "multipart/form-data" {
		return nil, nil, failure.InvalidField("Content-Type", "must be multipart/form-data with parts \"spec\" and \"file\", got %q.", mt)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, failure.InvalidField("body", "the multipart body cannot be read: missing boundary.")
	}
	var spec *secretIn
	var file *secret.Value
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, failure.New(failure.TooLarge, "the request is larger than the %d-byte limit; file secrets are limited to %d bytes", mbe.Limit, service.MaxSecretSize).WithCode("FILE_SIZE_EXCEEDS_LIMIT")
			}
			return nil, nil, failure.InvalidField("body", "the multipart body is malformed.")
		}
		switch part.FormName() {
		case "spec":
			b, err := readPart(part, 64<<10)
			if err != nil {
				return nil, nil, err
			}
			var req secretRequest
			if err := decodeBytes(b, "application/json", &req); err != nil {
				return nil, nil, err
			}
			if req.Secret == nil {
				return nil, nil, failure.InvalidField("spec", "must hold {\"secret\": {...}}.")
			}
			spec = req.Secret
		case "file":
			b, err := readPart(part, service.MaxSecretSize)
			if err != nil {
				return nil, nil, err
			}
			v := secret.NewValue(b)
			file = &v
		}
		_ = part.Close()
	}
	if spec == nil {
		return nil, nil, failure.InvalidField("spec", "is required: a multipart part named \"spec\" holding {\"secret\": {...}}.")
	}
	if spec.Spec != nil && spec.Spec.Value != nil {
		return nil, nil, failure.InvalidField("secret.spec.value", "is not used by file secrets; send the content in the \"file\" part.")
	}
	if fileRequired && file == nil {
		return nil, nil, failure.InvalidField("file", "is required: a multipart part named \"file\" with the secret file's content.")
	}
	return spec, file, nil
}

func readPart(p *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, failure.New(failure.TooLarge, "the request is larger than the %d-byte limit", mbe.Limit).WithCode("FILE_SIZE_EXCEEDS_LIMIT")
		}
		return nil, failure.InvalidField("body", "the multipart body is malformed.")
	}
	if int64(len(b)) > limit {
		return nil, failure.New(failure.TooLarge, "the %q part is larger than %d bytes", p.FormName(), limit).WithCode("FILE_SIZE_EXCEEDS_LIMIT")
	}
	return b, nil
}

func (a *API) createSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	in, err := decodeSecret(r)
	if err != nil {
		return err
	}
	x, err := a.svc.Secrets.Create(r.Context(), p, sc, service.SecretText, secretInput(in))
	if err != nil {
		return err
	}
	setETag(w, x.Version)
	ok(w, r, toSecret(x))
	return nil
}

func (a *API) createFileSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	in, file, err := multipartSecret(r, true)
	if err != nil {
		return err
	}
	si := secretInput(in)
	si.Value = file
	x, err := a.svc.Secrets.Create(r.Context(), p, sc, service.SecretFile, si)
	file.Wipe()
	if err != nil {
		return err
	}
	setETag(w, x.Version)
	ok(w, r, toSecret(x))
	return nil
}

func (a *API) getSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	x, err := a.svc.Secrets.Get(r.Context(), p, sc, r.PathValue("identifier"))
	if err != nil {
		return err
	}
	setETag(w, x.Version)
	ok(w, r, toSecret(x))
	return nil
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	sub, err := queryBool(r, "includeSecretsFromEverySubScope")
	if err != nil {
		return err
	}
	types := queryList(r, "types")
	types = append(types, queryList(r, "type")...)
	l, err := a.svc.Secrets.List(r.Context(), p, sc, service.ListSecretsInput{Types: types, SearchTerm: r.URL.Query().Get("searchTerm"),
		Identifiers: queryList(r, "identifiers"), IncludeSubScopes: sub, Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toSecret))
	return nil
}

// secretFilter is Harness's SecretResourceFilter (POST /v2/secrets/list).
type secretFilter struct {
	Identifiers                     []string `json:"identifiers"`
	SearchTerm                      string   `json:"searchTerm"`
	Types                           []string `json:"types"`
	IncludeSecretsFromEverySubScope bool     `json:"includeSecretsFromEverySubScope"`
}

func (a *API) listSecretsV3(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	pg, err := queryPage(r)
	if err != nil {
		return err
	}
	var f secretFilter
	if b, err := readBody(r); err != nil {
		return err
	} else if len(strings.TrimSpace(string(b))) > 0 {
		if err := decodeBytes(b, mediaType(r), &f); err != nil {
			return err
		}
	}
	l, err := a.svc.Secrets.List(r.Context(), p, sc, service.ListSecretsInput{Types: f.Types, SearchTerm: f.SearchTerm,
		Identifiers: f.Identifiers, IncludeSubScopes: f.IncludeSecretsFromEverySubScope, Page: pg})
	if err != nil {
		return err
	}
	ok(w, r, newPage(l, toSecret))
	return nil
}

func (a *API) updateSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	in, err := decodeSecret(r)
	if err != nil {
		return err
	}
	x, err := a.svc.Secrets.Update(r.Context(), p, sc, r.PathValue("identifier"), service.SecretText, secretInput(in), im)
	if err != nil {
		return err
	}
	setETag(w, x.Version)
	ok(w, r, toSecret(x))
	return nil
}

func (a *API) updateFileSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	im, err := ifMatch(r)
	if err != nil {
		return err
	}
	in, file, err := multipartSecret(r, false)
	if err != nil {
		return err
	}
	si := secretInput(in)
	si.Value = file
	x, err := a.svc.Secrets.Update(r.Context(), p, sc, r.PathValue("identifier"), service.SecretFile, si, im)
	if file != nil {
		file.Wipe()
	}
	if err != nil {
		return err
	}
	setETag(w, x.Version)
	ok(w, r, toSecret(x))
	return nil
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	force, err := queryBool(r, "forceDelete")
	if err != nil {
		return err
	}
	if err := a.svc.Secrets.Delete(r.Context(), p, sc, r.PathValue("identifier"), force); err != nil {
		return err
	}
	ok(w, r, true)
	return nil
}

func (a *API) validateSecretID(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	sc, err := queryScope(r)
	if err != nil {
		return err
	}
	unique, err := a.svc.Secrets.ValidateUnique(r.Context(), p, sc, r.PathValue("identifier"))
	if err != nil {
		return err
	}
	ok(w, r, unique)
	return nil
}

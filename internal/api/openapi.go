package api

import (
	"net/http"

	openapi "github.com/azimuthcd/azimuth/api"
)

// openapiDocument serves the embedded OpenAPI document: public, like the
// health checks, so that tools can read the contract before holding a key.
func (a *API) openapiDocument(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openapi.Document)
}

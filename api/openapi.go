// Package openapi holds Azimuth's API contract, openapi.yaml (OpenAPI 3.0),
// embedded so that the server can serve it at
// GET /ng/api/azimuth/openapi.yaml. A golden test (openapi_test.go) fails
// when the document and the server's route table disagree, when a $ref does
// not resolve, or when a real response does not match its schema.
package openapi

import _ "embed" // the document

// Document is openapi.yaml.
//
//go:embed openapi.yaml
var Document []byte

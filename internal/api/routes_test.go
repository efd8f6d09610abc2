package api_test

import (
	"github.com/azimuthcd/azimuth/internal/api"
)

func newRouteList(e *env) []api.Route {
	a := api.New(api.Deps{Services: e.svc, Health: e.st})
	return a.Routes()
}

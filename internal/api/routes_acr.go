package api

// acrRoutes are ACR artifacts.
func (a *API) acrRoutes() []Route {
	return nil
}

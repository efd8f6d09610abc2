package api

// azureRoutes are the connection test and Harness's /ng/api/azure helpers (subscriptions, resource groups).
func (a *API) azureRoutes() []Route {
	return nil
}

package api

// permissionRoutes are Azure permission checks and generated roles.
func (a *API) permissionRoutes() []Route {
	return nil
}

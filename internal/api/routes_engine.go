package api

// engineRoutes are tasks, delegate tokens and the delegate protocol.
func (a *API) engineRoutes() []Route {
	return nil
}

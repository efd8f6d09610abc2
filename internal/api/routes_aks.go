package api

// aksRoutes are AKS clusters, kubeconfigs and script steps.
func (a *API) aksRoutes() []Route {
	return nil
}

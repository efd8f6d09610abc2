package azuresim

func (s *Sim) registerAuthorizationRoutes() {}
func (s *Sim) registerContainerRoutes()     {}
func (s *Sim) registerWebRoutes()           {}
func (s *Sim) registerComputeRoutes()       {}
func (s *Sim) registerDeploymentRoutes()    {}

type lroState struct{}

func newLROState() *lroState { return &lroState{} }

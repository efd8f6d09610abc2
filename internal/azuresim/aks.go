package azuresim

type aksState struct{}

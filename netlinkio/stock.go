package netlinkio

import "errors"

// Stock is the stock-kernel engine.
type Stock struct {
	// Fault, when set, is called before every kernel call that changes a
	// socket during a restore, with a name for the call; an error it
	// returns is treated as the kernel's. Tests use it to fail the k-th call.
	Fault func(call string) error
}

// NewStock returns the stock engine.
func NewStock() *Stock { return &Stock{} }

func (s *Stock) Name() string                           { return "stock" }
func (s *Stock) Close() error                           { return nil }
func (s *Stock) List() ([]Socket, error)                { return nil, errors.New("todo") }
func (s *Stock) Holders(inode uint64) ([]Holder, error) { return nil, errors.New("todo") }
func (s *Stock) Dump(inode uint64) (*Image, error)      { return nil, errors.New("todo") }
func (s *Stock) Restore(inode uint64, img *Image) error { return errors.New("todo") }

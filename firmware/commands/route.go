package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"kioskd/cloudlink/contract"
)

// Table routes each command name to its handler. The wiring builds it
// (firmware): the controller's inputs, the cameras, the upkeep. A name it
// lacks is answered unknown_command.
type Table map[string]Route

// A Route applies one admitted command. Its args are decoded and checked
// (contract.DecodeArgs: the limits of every text) before the handler sees
// them; build one with Handle or HandleWithResult.
type Route struct {
	args    reflect.Type // the args type the handler takes, a pointer
	decode  func(cmd contract.Command) (call, error)
	badArgs func(ctx context.Context, cmd contract.Command, err error) *contract.ReplyError
}

// call applies a command: its result (nil, or JSON, when ok), or the error
// to reply with.
type call func(ctx context.Context) (json.RawMessage, *contract.ReplyError)

// argsOf is the pointer to a command's args type.
type argsOf[A any] interface {
	*A
	contract.Args
}

// Handle routes to h a command whose reply carries no result. A is the
// command's args type (contract.AcceptArgs, ...); h gets them checked.
func Handle[A any, P argsOf[A]](h func(ctx context.Context, cmd contract.Command, a A) *contract.ReplyError) Route {
	return HandleWithResult[A, P](func(ctx context.Context, cmd contract.Command, a A) (json.RawMessage, *contract.ReplyError) {
		return nil, h(ctx, cmd, a)
	})
}

// HandleWithResult routes to h a command whose reply may carry a result
// (clip_link's fresh URL).
func HandleWithResult[A any, P argsOf[A]](h func(ctx context.Context, cmd contract.Command, a A) (json.RawMessage, *contract.ReplyError)) Route {
	return Route{
		args: reflect.TypeFor[P](),
		decode: func(cmd contract.Command) (call, error) {
			var a A
			if err := contract.DecodeArgs(cmd.Args, P(&a)); err != nil {
				return nil, err
			}
			return func(ctx context.Context) (json.RawMessage, *contract.ReplyError) { return h(ctx, cmd, a) }, nil
		},
	}
}

// OnBadArgs returns the route answering a command whose args fail their
// checks with f's error instead of a plain bad_args: an update journals
// its refusal, clip_link says what its args must name.
func (r Route) OnBadArgs(f func(ctx context.Context, cmd contract.Command, err error) *contract.ReplyError) Route {
	r.badArgs = f
	return r
}

// bind checks the command's args and returns the call that applies it; if
// the args fail, the call answers bad_args (or what OnBadArgs says). The
// counter is spent by then: doc.md promises it for every admitted command.
func (r Route) bind(cmd contract.Command) call {
	apply, err := r.decode(cmd)
	if err == nil {
		return apply
	}
	return func(ctx context.Context) (json.RawMessage, *contract.ReplyError) {
		if r.badArgs != nil {
			return nil, r.badArgs(ctx, cmd, err)
		}
		return nil, &contract.ReplyError{Code: contract.ErrBadArgs, Message: err.Error()}
	}
}

// check refuses a table whose route for a command takes other args than
// the contract's for that command (contract.NewArgs), or a command the
// contract does not know.
func (t Table) check() error {
	for name, r := range t {
		want := contract.NewArgs(name)
		if want == nil {
			return fmt.Errorf("commands: route for %q: no such command in the contract", name)
		}
		if r.decode == nil || r.args != reflect.TypeOf(want) {
			return fmt.Errorf("commands: route for %q takes %v, want %T", name, r.args, want)
		}
	}
	return nil
}

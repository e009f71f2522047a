package main

import (
	"context"
	"errors"
)

func (b *bench) terraform(ctx context.Context) error { return errors.New("todo") }

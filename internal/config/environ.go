package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/joho/godotenv"
)

// Environ returns the process environment merged over the variables of the
// .env file at path, when that file exists: a real environment variable
// always wins, so a deployment can override a checked-in .env.
func Environ(path string) (map[string]string, error) {
	vars := map[string]string{}
	if path != "" {
		fileVars, err := godotenv.Read(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", path, err)
		default:
			vars = fileVars
		}
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return vars, nil
}

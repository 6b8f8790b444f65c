// Package yamlfile reads the daemons' YAML configuration files one way: strictly (an
// unknown key is an error, with its line), an empty file as no settings, and every
// error naming the file.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// Decode reads path into v.
func Decode(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every visible command group has its page, titled as man(1) expects, naming each of
// its subcommands; nlkit.8 names every group.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if code := Run([]string{"man", dir}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("nlkit man: exit %d", code)
	}
	top, err := os.ReadFile(filepath.Join(dir, "nlkit.8"))
	if err != nil {
		t.Fatal(err)
	}
	pages := 1
	for _, c := range App().Commands {
		if c.Hidden {
			if strings.Contains(string(top), "\n.SH "+c.Name+"\n") {
				t.Errorf("nlkit.8 documents the hidden command %s", c.Name)
			}
			continue
		}
		pages++
		name := "nlkit-" + c.Name + ".8"
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		page := string(b)
		if want := ".TH \"" + strings.ToUpper("nlkit-"+c.Name) + "\" 8 "; !strings.Contains(page, want) {
			t.Errorf("%s: no %q title line", name, want)
		}
		for _, sc := range c.Subcommands {
			if !strings.Contains(page, "\n.SH "+sc.Name+"\n") {
				t.Errorf("%s does not document %s %s", name, c.Name, sc.Name)
			}
		}
		if !strings.Contains(string(top), "\n.SH "+c.Name+"\n") {
			t.Errorf("nlkit.8 does not name %s", c.Name)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != pages {
		t.Errorf("%d pages written, want %d", len(ents), pages)
	}
	if code := Run([]string{"man"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("nlkit man without a directory: exit %d, want 2", code)
	}
}

// The bash script, sourced in bash with nlkit on PATH, completes subcommands and flags
// as a user's TAB would; the zsh script asks for name:usage pairs. Both parse.
func TestCompletion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nlkit")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nlkit/nlkit/tools/nlkit").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script := filepath.Join(t.TempDir(), "nlkit.bash")
	if b, err := exec.Command(bin, "completion", "bash").Output(); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(script, b, 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		sh := "source " + script + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			string(rune('0'+len(words)-1)) + "; _nlkit; printf '%s\\n' \"${COMPREPLY[@]}\""
		cmd := exec.Command("bash", "-c", sh)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"nlkit", "mp"}, []string{"mptcp"}},
		{[]string{"nlkit", "mptcp", ""}, []string{"pm", "monitor", "endpoint", "limits"}},
		{[]string{"nlkit", "mptcp", "pm", "--com"}, []string{"--command-sockets"}},
		{[]string{"nlkit", "ratekeeper", ""}, nil},
	} {
		got := complete(c.words...)
		t.Logf("%q -> %q", c.words, got)
		for _, w := range c.want {
			if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
				t.Errorf("%q completes to %q, lacking %s", c.words, got, w)
			}
		}
		if c.want == nil && len(got) == 0 {
			t.Errorf("%q completes to nothing", c.words)
		}
		for _, w := range got {
			if w == "man" || w == "completion" {
				t.Errorf("%q offers the hidden command %s", c.words, w)
			}
		}
	}
	zsh, err := exec.Command(bin, "completion", "zsh").Output()
	if err != nil || !strings.HasPrefix(string(zsh), "#compdef nlkit\n") || !strings.Contains(string(zsh), "env 0=zsh") {
		t.Errorf("zsh script: %v\n%s", err, zsh)
	}
	if p, err := exec.LookPath("zsh"); err == nil {
		if out, err := exec.Command(p, "-n", "-c", string(zsh)).CombinedOutput(); err != nil {
			t.Errorf("zsh -n: %v\n%s", err, out)
		}
	}
	pairs, _ := exec.Command("env", "0=zsh", bin, "mptcp", "--generate-bash-completion").Output()
	if !strings.Contains(string(pairs), "pm:run the path-manager daemon") {
		t.Errorf("zsh candidates lack name:usage pairs:\n%s", pairs)
	}
	if code := Run([]string{"completion", "fish"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Errorf("nlkit completion fish: exit %d, want 2", code)
	}
}

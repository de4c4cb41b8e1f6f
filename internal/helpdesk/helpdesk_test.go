package helpdesk_test

import (
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func TestRoleAtLeast(t *testing.T) {
	cases := []struct {
		role, min helpdesk.Role
		want      bool
	}{
		{helpdesk.RoleAdmin, helpdesk.RoleSupervisor, true},
		{helpdesk.RoleSupervisor, helpdesk.RoleSupervisor, true},
		{helpdesk.RoleAgent, helpdesk.RoleSupervisor, false},
		{helpdesk.Role("root"), helpdesk.RoleAgent, false},
	}
	for _, c := range cases {
		if got := c.role.AtLeast(c.min); got != c.want {
			t.Errorf("%s.AtLeast(%s) = %v", c.role, c.min, got)
		}
	}
}

func TestViewerCanSee(t *testing.T) {
	agent := helpdesk.User{ID: "a1", Role: helpdesk.RoleAgent, DepartmentIDs: []string{"vendas"}}
	v := helpdesk.ViewerFor(agent)
	cases := []struct {
		name string
		conv helpdesk.Conversation
		want bool
	}{
		{"own department queue", helpdesk.Conversation{DepartmentID: "vendas"}, true},
		{"no department yet", helpdesk.Conversation{}, true},
		{"other department queue", helpdesk.Conversation{DepartmentID: "suporte"}, false},
		{"assigned to them elsewhere", helpdesk.Conversation{DepartmentID: "suporte", AssigneeID: "a1"}, true},
		{"assigned to a colleague", helpdesk.Conversation{DepartmentID: "vendas", AssigneeID: "a2"}, false},
	}
	for _, c := range cases {
		if got := v.CanSee(c.conv); got != c.want {
			t.Errorf("%s: CanSee = %v, want %v", c.name, got, c.want)
		}
	}
	if helpdesk.ViewerFor(helpdesk.User{Role: helpdesk.RoleSupervisor}) != nil {
		t.Error("a supervisor's view is limited")
	}
}

func TestPreview(t *testing.T) {
	if got := helpdesk.Preview(helpdesk.Message{Type: "image"}); got != "[image]" {
		t.Errorf("media without caption = %q", got)
	}
	long := strings.Repeat("ã", 300)
	got := helpdesk.Preview(helpdesk.Message{Type: "text", Text: long})
	if r := []rune(got); len(r) != 120 || r[119] != '…' {
		t.Errorf("long preview has %d runes, ends %q", len(r), string(r[len(r)-1]))
	}
}

func TestOutboundMediaType(t *testing.T) {
	cases := []struct {
		mime     string
		size     int64
		kind     string
		problems bool
	}{
		{"image/jpeg", 1 << 20, "image", false},
		{"image/png", 6 << 20, "", true},
		{"image/webp", 100 << 10, "sticker", false},
		{"audio/ogg; codecs=opus", 1 << 20, "audio", false},
		{"video/mp4", 17 << 20, "", true},
		{"application/pdf", 50 << 20, "document", false},
		{"application/zip", 10, "", true},
		{"image/webp", 600 << 10, "", true},
	}
	for _, c := range cases {
		kind, problem := helpdesk.OutboundMediaType(c.mime, c.size)
		if kind != c.kind || (problem != "") != c.problems {
			t.Errorf("%s %d: kind %q problem %q", c.mime, c.size, kind, problem)
		}
	}
	// Limits under a megabyte are said in kilobytes, not as "0 MB".
	if _, problem := helpdesk.OutboundMediaType("image/webp", 600<<10); problem != "sticker files may have at most 500 KB" {
		t.Errorf("oversized sticker: %q", problem)
	}
}

func TestValidateEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"ana@suporte.com": true, "": false, "ana": false, "ana@localhost": false, "Ana <ana@x.com>": false,
	} {
		if got := helpdesk.ValidateEmail(in) == ""; got != ok {
			t.Errorf("ValidateEmail(%q) ok = %v, want %v", in, got, ok)
		}
	}
}

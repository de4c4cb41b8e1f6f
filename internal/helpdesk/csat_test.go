package helpdesk

import "testing"

func TestCSATAnswer(t *testing.T) {
	cases := []struct {
		text, replyID string
		score         int
		comment       string
		ok            bool
	}{
		{"5 - Excelente", "csat:5", 5, "", true},
		{"", "csat:9", 0, "", false},
		{" 4 ", "", 4, "", true},
		{"3: demorou um pouco", "", 3, "demorou um pouco", true},
		{"2, ruim", "", 2, "ruim", true},
		{"6", "", 0, "", false},
		{"10", "", 0, "", false},
		{"1234 é o número do pedido", "", 0, "", false},
		{"obrigado", "", 0, "", false},
		{"Vendas", "bot:menu:vendas", 0, "", false},
	}
	for _, c := range cases {
		score, comment, ok := CSATAnswer(c.text, c.replyID)
		if ok != c.ok || (ok && (score != c.score || comment != c.comment)) {
			t.Errorf("CSATAnswer(%q, %q) = %d %q %v", c.text, c.replyID, score, comment, ok)
		}
	}
}

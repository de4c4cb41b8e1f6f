package whatsapp

import (
	"reflect"
	"testing"
)

func TestBrazilianMobileVariants(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"MobileWithNineToWithout", "5511987654321", []string{"5511987654321", "551187654321"}},
		{"MobileWithoutNineToWith", "551187654321", []string{"551187654321", "5511987654321"}},
		{"OtherDDD", "5521998765432", []string{"5521998765432", "552198765432"}},
		{"LegacyStartsWith6", "5585961234567", []string{"5585961234567", "558561234567"}},
		{"LegacyWithoutNineStarts7", "554171234567", []string{"554171234567", "5541971234567"}},
		// Post-2012 mobiles never had an 8-digit form; dropping the 9 would
		// spell a landline (2–5) or nothing valid (1), i.e. somebody else.
		{"NineThenLandlineDigit", "5511923456789", []string{"5511923456789"}},
		{"NineThenOne", "5511912345678", []string{"5511912345678"}},
		{"Landline2", "551123456789", []string{"551123456789"}},
		{"Landline3", "551133334444", []string{"551133334444"}},
		{"Landline5", "551153334444", []string{"551153334444"}},
		{"DDDWithZero", "5510987654321", []string{"5510987654321"}},
		{"DDDStartingZero", "5501987654321", []string{"5501987654321"}},
		{"TooShort", "55119876543", []string{"55119876543"}},
		{"TooLong", "55119876543210", []string{"55119876543210"}},
		{"OtherCountry", "5215512345678", []string{"5215512345678"}},
		{"US", "14155550123", []string{"14155550123"}},
		{"PlusSign", "+5511987654321", []string{"+5511987654321"}},
		{"NonDigit", "55119876543a1", []string{"55119876543a1"}},
		{"Empty", "", []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BrazilianMobileVariants(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BrazilianMobileVariants(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Symmetry: every variant maps back to the same set.
			for _, v := range got[1:] {
				back := BrazilianMobileVariants(v)
				if len(back) != 2 || back[1] != tt.in {
					t.Errorf("variant %q maps to %q, not back to %q", v, back, tt.in)
				}
			}
		})
	}
}

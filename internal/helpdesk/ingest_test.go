package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// Close racing Ingest: every delivery is either applied or refused with
// ErrIngesterClosed, none is left waiting for a lane that has stopped, and
// after Close every Ingest is refused.
func TestIngesterCloseRacesIngest(t *testing.T) {
	s := storetest.OpenSQLite(t)
	// A delivery that hangs is reported, not waited for until the test
	// binary's own timeout.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for round := range 10 {
		in := helpdesk.NewIngester(s, helpdesk.IngesterOptions{Lanes: 2, MaxBatch: 4})
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := helpdesk.WebhookDelivery{Body: fmt.Appendf(nil, "close race %d %d", round, i), ReceivedAt: helpdesk.Now()}
				if _, err := in.Ingest(ctx, d); err != nil && !errors.Is(err, helpdesk.ErrIngesterClosed) {
					t.Errorf("Ingest during Close: %v", err)
				}
			}()
		}
		in.Close()
		wg.Wait()
		for i := range 20 {
			d := helpdesk.WebhookDelivery{Body: fmt.Appendf(nil, "after close %d %d", round, i), ReceivedAt: helpdesk.Now()}
			if _, err := in.Ingest(ctx, d); !errors.Is(err, helpdesk.ErrIngesterClosed) {
				t.Fatalf("Ingest after Close = %v, want ErrIngesterClosed", err)
			}
		}
		if code := helpdesk.ErrorCode(helpdesk.ErrIngesterClosed); code != helpdesk.CodeUnavailable {
			t.Fatalf("ErrIngesterClosed has code %q, want %q", code, helpdesk.CodeUnavailable)
		}
	}
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
)

// FanoutOptions sets up a fan-out run.
type FanoutOptions struct {
	DatabaseURL string        // "" → a fresh SQLite file
	Agents      int           // connected agent sockets (default 500)
	Rate        int           // webhooks per second (default 500)
	Duration    time.Duration // how long webhooks are posted (default 10 s)
	Customers   int           // distinct customers (default 200)
	IdleConns   int           // sockets for the memory figure; 0 skips it
	Out         io.Writer
}

// FanoutResult is what a fan-out run measured.
type FanoutResult struct {
	Posted, Acked            int
	Deliveries, Missing      int
	FromAckP50, FromAckP99   time.Duration // webhook answered → new_message on a socket
	FromPostP50, FromPostP99 time.Duration // webhook posted → new_message on a socket
	IdleConns                int
	BytesPerPair             float64       // heap+stack per idle socket, server and client side, through the hub
	BytesPerBarePair         float64       // the same for a bare WebSocket pair (no hub): the floor
	Dropped                  int           // agent sockets the server closed during the run
	CPU                      time.Duration // the process's CPU time (server, client sockets and senders) while posting and delivering
	Load                     string        // the machine's load average at the end of the run
}

// Fanout connects o.Agents agents of one department to /ws, posts signed
// webhooks at o.Rate for o.Duration (each message goes to every agent: the
// conversations wait unassigned in their department) and measures how long
// each new_message takes to reach each socket. Then it opens o.IdleConns
// idle sockets and reports the memory each costs.
func Fanout(ctx context.Context, o FanoutOptions) (FanoutResult, error) {
	if o.Agents <= 0 {
		o.Agents = 500
	}
	if o.Rate <= 0 {
		o.Rate = 500
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Customers <= 0 {
		o.Customers = 200
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	dir, err := os.MkdirTemp("", "supportwhatsapp-bench-")
	if err != nil {
		return FanoutResult{}, err
	}
	defer os.RemoveAll(dir)
	dbURL := o.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	cfg, err := config.Load(map[string]string{
		"APP_ENV": "test", "DATABASE_URL": dbURL, "WHATSAPP_APP_SECRET": appSecret, "BCRYPT_ROUNDS": "4",
		"MEDIA_DIR": filepath.Join(dir, "media"), "LOG_LEVEL": "error", "RATE_LIMIT_MAX_REQUESTS": "100000000",
	})
	if err != nil {
		return FanoutResult{}, err
	}
	var logOut io.Writer = io.Discard
	if os.Getenv("BENCH_MEM_DEBUG") != "" {
		logOut = os.Stderr
	}
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return FanoutResult{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return FanoutResult{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		<-done
	}()
	base := "http://" + ln.Addr().String()
	wsURL := "ws://" + ln.Addr().String() + "/ws?token="

	tokens, err := benchAgents(ctx, srv, o.Agents)
	if err != nil {
		return FanoutResult{}, err
	}
	total := int(o.Duration.Seconds() * float64(o.Rate))
	ackAt := make([]atomic.Int64, total)
	postAt := make([]atomic.Int64, total)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	marker := []byte("fanout " + run + " #")

	// The agents' sockets: each records when every message reached it.
	recv := make([][]atomic.Int64, o.Agents) // [agent][message] unix nanos, 0 = not yet
	var got atomic.Int64
	var measured atomic.Bool // the bench is done with the agents' sockets
	var dropped atomic.Int64 // sockets that ended before
	var droppedWhy atomic.Pointer[error]
	var conns []*agentSocket
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := range o.Agents {
		recv[i] = make([]atomic.Int64, total)
		c, err := dialAgent(ctx, ln.Addr().String(), "/ws?token="+tokens[i%len(tokens)])
		if err != nil {
			return FanoutResult{}, fmt.Errorf("agent %d: %w", i, err)
		}
		conns = append(conns, c)
		// The handshake's answer comes before the hub registers the
		// socket; its hello comes after. Posting before every hello would
		// count the first messages of a late socket as missing.
		if b, err := c.next(); err != nil || !bytes.HasPrefix(b, []byte(`{"event":"hello"`)) {
			return FanoutResult{}, fmt.Errorf("agent %d: no hello (%v)", i, err)
		}
		go func(mine []atomic.Int64) {
			pprof.SetGoroutineLabels(clientLabels)
			for {
				b, err := c.next() // ends when the socket is closed
				if err != nil {
					if !measured.Load() {
						dropped.Add(1)
						droppedWhy.CompareAndSwap(nil, &err)
					}
					return
				}
				now := time.Now().UnixNano()
				if !bytes.HasPrefix(b, []byte(`{"event":"new_message"`)) {
					continue
				}
				// The message's own text: the conversation's lastMessage
				// may already be a later one.
				m := bytes.Index(b, []byte(`"message":{`))
				if m < 0 {
					continue
				}
				j := bytes.Index(b[m:], marker)
				if j < 0 {
					continue
				}
				rest := b[m+j+len(marker):]
				k := bytes.IndexByte(rest, '"')
				if n, err := strconv.Atoi(string(rest[:max(k, 0)])); err == nil && n >= 0 && n < len(mine) && mine[n].CompareAndSwap(0, now) {
					got.Add(1)
				}
			}
		}(recv[i])
	}

	// Webhooks at a fixed rate, from a pool of senders.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	jobs := make(chan int, 1024)
	var acked atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pprof.SetGoroutineLabels(senderLabels)
			for i := range jobs {
				body := fanoutWebhook(fmt.Sprintf("55118%08d", i%o.Customers), fmt.Sprintf("wamid.fanout.%s.%d", run, i), string(marker)+strconv.Itoa(i))
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/webhooks/whatsapp", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sign(body))
				postAt[i].Store(time.Now().UnixNano())
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					ackAt[i].Store(time.Now().UnixNano())
					acked.Add(1)
				}
			}
		}()
	}
	cpuBefore := processCPU()
	start := time.Now()
	interval := time.Second / time.Duration(o.Rate)
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	r := FanoutResult{Posted: total, Acked: int(acked.Load())}
	want := acked.Load() * int64(o.Agents)
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.CPU = processCPU() - cpuBefore
	measured.Store(true)
	r.Dropped = int(dropped.Load())
	r.Load = loadAverage()

	var fromAck, fromPost []time.Duration
	for a := range recv {
		for i := range recv[a] {
			at := recv[a][i].Load()
			ack := ackAt[i].Load()
			if ack == 0 {
				continue
			}
			if at == 0 {
				r.Missing++
				if os.Getenv("BENCH_MEM_DEBUG") != "" {
					fmt.Fprintf(os.Stderr, "missing agent %d message %d\n", a, i)
				}
				continue
			}
			r.Deliveries++
			fromAck = append(fromAck, max(time.Duration(at-ack), 0))
			fromPost = append(fromPost, time.Duration(at-postAt[i].Load()))
		}
	}
	slices.Sort(fromAck)
	slices.Sort(fromPost)
	if n := len(fromAck); n > 0 {
		r.FromAckP50, r.FromAckP99 = fromAck[n/2], fromAck[n*99/100]
		r.FromPostP50, r.FromPostP99 = fromPost[n/2], fromPost[n*99/100]
	}
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil

	fmt.Fprintf(o.Out, "fan-out: %d agents, %d webhooks/s for %s on %s\n", o.Agents, o.Rate, o.Duration, srv.DB.Dialect())
	fmt.Fprintf(o.Out, "  webhooks posted %d, acknowledged %d; new_message deliveries %d, missing %d\n", r.Posted, r.Acked, r.Deliveries, r.Missing)
	fmt.Fprintf(o.Out, "  webhook answered → new_message on a socket: p50 %s  p99 %s\n", r.FromAckP50.Round(10*time.Microsecond), r.FromAckP99.Round(10*time.Microsecond))
	fmt.Fprintf(o.Out, "  webhook posted   → new_message on a socket: p50 %s  p99 %s\n", r.FromPostP50.Round(10*time.Microsecond), r.FromPostP99.Round(10*time.Microsecond))
	if r.Dropped > 0 {
		fmt.Fprintf(o.Out, "  agent sockets dropped by the server: %d (first: %v)\n", r.Dropped, *droppedWhy.Load())
	}
	if r.Deliveries > 0 {
		fmt.Fprintf(o.Out, "  CPU (whole process: server, bench sockets, senders) %.1f s = %.2f µs per delivery; load average %s\n",
			r.CPU.Seconds(), float64(r.CPU.Microseconds())/float64(r.Deliveries), r.Load)
	}
	if o.IdleConns <= 0 {
		return r, nil
	}
	// Idle sockets: what each costs, through the hub and bare.
	r.IdleConns = min(o.IdleConns, fdBudget()/4) // both ends, and the dialer's spare descriptors
	// The bare pair first: the hub's sockets take a while to be released.
	bare := httptestBare()
	defer bare.Close()
	r.BytesPerBarePair, err = idleCost(ctx, r.IdleConns, func() (*websocket.Conn, error) {
		c, _, err := websocket.Dial(ctx, "ws://"+bare.Addr().String()+"/", nil)
		return c, err
	})
	if err != nil {
		return r, err
	}
	r.BytesPerPair, err = idleCost(ctx, r.IdleConns, func() (*websocket.Conn, error) {
		c, _, err := websocket.Dial(ctx, wsURL+tokens[0], nil)
		return c, err
	})
	if err != nil {
		return r, err
	}

	fmt.Fprintf(o.Out, "idle sockets: %d (limited by open files %d)\n", r.IdleConns, fdBudget()+1000)
	fmt.Fprintf(o.Out, "  live heap + stacks per socket pair through the hub (server and client ends): %.1f KB\n", r.BytesPerPair/1024)
	fmt.Fprintf(o.Out, "  the same for a bare coder/websocket pair (no hub, no middleware):          %.1f KB\n", r.BytesPerBarePair/1024)
	fmt.Fprintf(o.Out, "  (the server end alone costs less than the pair: the client end's buffers and goroutine are included)\n")
	return r, nil
}

// benchAgents creates agents of Suporte, routes new conversations there,
// and returns their access tokens.
func benchAgents(ctx context.Context, srv *server.Server, n int) ([]string, error) {
	depts, err := srv.DB.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	var dept string
	for _, d := range depts {
		if d.Name == "Suporte" {
			dept = d.ID
		}
	}
	if _, err := srv.DB.SQL().ExecContext(ctx, "UPDATE channels SET default_department_id = $1", dept); err != nil {
		return nil, err
	}
	tokens := make([]string, 0, n)
	now := helpdesk.Now()
	for i := range n {
		u := helpdesk.User{ID: helpdesk.NewID(), Name: fmt.Sprintf("Agente %d", i), Email: fmt.Sprintf("fanout-%s@bench.local", helpdesk.NewID()),
			PasswordHash: "bench", Role: helpdesk.RoleAgent, Active: true, MaxConversations: 5, DepartmentIDs: []string{dept},
			CreatedAt: now, UpdatedAt: now}
		if err := srv.DB.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		tok, err := srv.Auth.IssueAccessToken(u.ID)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// idleCost opens n sockets that read (so pings are answered) and returns
// the heap and stack grown per socket.
func idleCost(ctx context.Context, n int, dial func() (*websocket.Conn, error)) (float64, error) {
	before := memInUse()
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
	}()
	for i := range n {
		c, err := dial()
		if err != nil {
			return 0, fmt.Errorf("idle socket %d: %w", i, err)
		}
		conns = append(conns, c)
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // hellos and presence settle
	after := memInUse()
	if f := os.Getenv("BENCH_HEAP_PROFILE"); f != "" {
		if out, err := os.Create(fmt.Sprintf("%s.%d", f, time.Now().UnixNano())); err == nil {
			_ = pprof.WriteHeapProfile(out)
			out.Close()
		}
	}
	// A few sockets can cost less than what the GC freed meanwhile: no
	// negative (wrapped) figure.
	return max(float64(int64(after)-int64(before)), 0) / float64(n), nil
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if os.Getenv("BENCH_MEM_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "heap %d stack %d goroutines %d\n", m.HeapAlloc, m.StackInuse, runtime.NumGoroutine())
	}
	return m.HeapAlloc + m.StackInuse
}

// fdBudget is how many sockets (server and client ends) this process may
// still open.
func fdBudget() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 2000
	}
	return max(int(l.Cur)-1000, 100)
}

// httptestBare serves WebSockets that only read: the cost of a socket
// with nothing of the hub.
func httptestBare() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}))
	}()
	return ln
}

func fanoutWebhook(waID, wamid, text string) []byte {
	return bytes.Replace(webhook(waID, wamid, 0), []byte("Olá, mensagem número 0"), []byte(text), 1)
}

// clientLabels marks the bench's own sockets and senders in a CPU profile
// (go tool pprof -tags), so their share can be told from the server's.
var clientLabels = pprof.WithLabels(context.Background(), pprof.Labels("side", "bench-client"))

var senderLabels = pprof.WithLabels(context.Background(), pprof.Labels("side", "bench-sender"))

// agentSocket is the bench's end of an agent's WebSocket: a minimal
// RFC 6455 client that reads each frame in place from a 64 KB buffer and
// answers pings. It runs in the process it measures, on the same two
// cores, so it is kept cheaper per frame than a general client
// (coder/websocket's takes a lock, a context check and a 4 KB read per
// frame); every frame is still read whole and parsed.
type agentSocket struct {
	nc      net.Conn
	br      *bufio.Reader
	message []byte // a fragmented or oversized message being put together
}

// dialAgent opens path on addr as a WebSocket.
func dialAgent(ctx context.Context, addr, path string) (*agentSocket, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	res.Body.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: %s", res.Status)
	}
	return &agentSocket{nc: nc, br: br}, nil
}

func (a *agentSocket) Close() error { return a.nc.Close() }

// next returns the next text message. The slice is valid until the next
// call.
func (a *agentSocket) next() ([]byte, error) {
	a.message = a.message[:0]
	for {
		h, err := a.br.Peek(2)
		if err != nil {
			return nil, err
		}
		fin, opcode, masked := h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0
		n, hl := int(h[1]&0x7f), 2
		switch n {
		case 126:
			if h, err = a.br.Peek(4); err != nil {
				return nil, err
			}
			n, hl = int(binary.BigEndian.Uint16(h[2:])), 4
		case 127:
			if h, err = a.br.Peek(10); err != nil {
				return nil, err
			}
			n, hl = int(binary.BigEndian.Uint64(h[2:])), 10
		}
		if masked || h[0]&0x70 != 0 || n > 16<<20 {
			return nil, errors.New("websocket: bad frame from the server")
		}
		_, _ = a.br.Discard(hl)
		var payload []byte
		if n <= a.br.Size() {
			if payload, err = a.br.Peek(n); err != nil {
				return nil, err
			}
			_, _ = a.br.Discard(n)
		} else {
			payload = make([]byte, n)
			if _, err = io.ReadFull(a.br, payload); err != nil {
				return nil, err
			}
		}
		switch opcode {
		case 0x8: // close
			if len(payload) >= 2 {
				return nil, fmt.Errorf("closed by the server: %d %s", binary.BigEndian.Uint16(payload), payload[2:])
			}
			return nil, io.EOF
		case 0x9: // ping: the server drops a socket that does not answer
			if err := a.control(0xA, payload); err != nil {
				return nil, err
			}
			continue
		case 0xA: // pong
			continue
		}
		if fin && len(a.message) == 0 {
			return payload, nil // in place, no copy
		}
		a.message = append(a.message, payload...)
		if fin {
			return a.message, nil
		}
	}
}

// control writes a control frame, masked as a client must.
func (a *agentSocket) control(opcode byte, payload []byte) error {
	f := make([]byte, 0, 6+len(payload))
	f = append(f, 0x80|opcode, 0x80|byte(len(payload)), 0, 0, 0, 0)
	_, _ = rand.Read(f[2:6])
	for i, b := range payload {
		f = append(f, b^f[2+i%4])
	}
	_, err := a.nc.Write(f)
	return err
}

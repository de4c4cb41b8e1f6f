package httpapi

import (
	"math"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

type periodStatsDTO struct {
	From          time.Time `json:"from" description:"start of the period (inclusive)"`
	To            time.Time `json:"to" description:"end of the period (exclusive)"`
	TimeZone      string    `json:"timeZone" description:"zone the dates and today were read in"`
	Conversations struct {
		Opened               int   `json:"opened" description:"conversations created in the period"`
		Closed               int   `json:"closed" description:"conversations closed in the period (and still closed)"`
		AverageHandleSeconds int64 `json:"averageHandleSeconds" description:"TMA: mean open-to-close time of the period's closed conversations"`
	} `json:"conversations"`
	Messages struct {
		Received int `json:"received" description:"inbound messages"`
		Sent     int `json:"sent" description:"outbound messages (agents, bot and automatic), whatever their delivery"`
	} `json:"messages"`
	Satisfaction struct {
		Responses    int            `json:"responses" description:"rated conversations among the period's closed ones"`
		Average      *float64       `json:"average" description:"mean score 1–5, two decimals; null without responses"`
		Distribution map[string]int `json:"distribution" description:"responses per score, keys 1 to 5"`
	} `json:"satisfaction"`
	Agents []agentStatsDTO `json:"agents" description:"per assignee of the period's closed conversations, most closed first"`
}

type agentStatsDTO struct {
	UserID               string   `json:"userId"`
	Name                 string   `json:"name"`
	Closed               int      `json:"closed"`
	AverageHandleSeconds int64    `json:"averageHandleSeconds"`
	CSATAverage          *float64 `json:"csatAverage" description:"null without responses"`
	CSATResponses        int      `json:"csatResponses"`
}

func toPeriodStatsDTO(p helpdesk.PeriodStats) periodStatsDTO {
	var out periodStatsDTO
	out.From, out.To, out.TimeZone = p.From.In(p.Location), p.To.In(p.Location), p.Location.String()
	out.Conversations.Opened, out.Conversations.Closed = p.Opened, p.Closed
	out.Conversations.AverageHandleSeconds = int64(p.AverageHandleTime.Seconds())
	out.Messages.Received, out.Messages.Sent = p.Received, p.Sent
	out.Satisfaction.Responses = p.CSATResponses
	out.Satisfaction.Average = csatAverage(p.CSATResponses, p.CSATAverage)
	out.Satisfaction.Distribution = map[string]int{}
	for i, n := range p.CSATDistribution {
		out.Satisfaction.Distribution[string(rune('1'+i))] = n
	}
	out.Agents = make([]agentStatsDTO, 0, len(p.Agents))
	for _, a := range p.Agents {
		out.Agents = append(out.Agents, agentStatsDTO{UserID: a.UserID, Name: a.Name, Closed: a.Closed,
			AverageHandleSeconds: int64(a.AverageHandleTime.Seconds()),
			CSATAverage:          csatAverage(a.CSATResponses, a.CSATAverage), CSATResponses: a.CSATResponses})
	}
	return out
}

// csatAverage is nil without responses: a 0 would read as the worst score.
func csatAverage(responses int, avg float64) *float64 {
	if responses == 0 {
		return nil
	}
	v := math.Round(avg*100) / 100
	return &v
}

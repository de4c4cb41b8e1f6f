// Package bot is the WhatsApp menu bot: flows as data (message, menu,
// input, handoff and ai nodes), their validation against WhatsApp's limits,
// rendering of menus as reply buttons, lists or numbered text, answer
// matching, and the typed configuration with business hours.
//
// Step and Start are pure: they take the flow, the conversation's state and
// the customer's message, and return the replies, the new state and what
// to do next (wait, queue for a person, ask the AI). Engine is the runtime
// around them: it loads and saves the state, sends the replies through the
// durable outbound path and moves the conversation to a queue through the
// helpdesk workflow.
//
// No customer can get stuck: three answers the bot cannot use, a word such
// as "atendente" or "humano", the inactivity timeout, a flow that runs out
// of nodes, or an AI failure all put the conversation in a human queue.
package bot

package mptcp

// The family's numbers. mptcp_pm is the kernel's own family: its spec is the kernel's
// Documentation/netlink/specs/mptcp_pm.yaml and its uapi header is
// include/uapi/linux/mptcp_pm.h (6.7+) or include/uapi/linux/mptcp.h (6.1). nlkit does
// not own it, so these constants are written here from the header, and
// TestConstantsMatchUAPI checks them against every installed kernel's header.

const (
	FamilyName  = "mptcp_pm"
	FamilyABI   = 1
	EventsGroup = "mptcp_pm_events"
)

// Commands (MPTCP_PM_CMD_*).
const (
	cmdAddAddr        = 1
	cmdDelAddr        = 2
	cmdGetAddr        = 3
	cmdFlushAddrs     = 4
	cmdSetLimits      = 5
	cmdGetLimits      = 6
	cmdSetFlags       = 7
	cmdAnnounce       = 8
	cmdRemove         = 9
	cmdSubflowCreate  = 10
	cmdSubflowDestroy = 11
)

// Top-level attributes of commands (MPTCP_PM_ATTR_*).
const (
	attrAddr        = 1 // nest of addr attributes
	attrRcvAddAddrs = 2 // u32
	attrSubflows    = 3 // u32
	attrToken       = 4 // u32
	attrLocID       = 5 // u8
	attrAddrRemote  = 6 // nest of addr attributes
)

// Address attributes (MPTCP_PM_ADDR_ATTR_*).
const (
	addrFamily  = 1 // u16
	addrID      = 2 // u8
	addrAddr4   = 3 // in_addr
	addrAddr6   = 4 // in6_addr
	addrPort    = 5 // u16, host order
	addrFlags   = 6 // u32
	addrIfindex = 7 // s32
)

// Event attributes (MPTCP_ATTR_*).
const (
	evToken       = 1  // u32
	evFamily      = 2  // u16
	evLocID       = 3  // u8
	evRemID       = 4  // u8
	evSaddr4      = 5  // be32
	evSaddr6      = 6  // in6_addr
	evDaddr4      = 7  // be32
	evDaddr6      = 8  // in6_addr
	evSport       = 9  // be16
	evDport       = 10 // be16
	evBackup      = 11 // u8
	evError       = 12 // u8
	evFlags       = 13 // u16
	evTimeout     = 14 // u32
	evIfindex     = 15 // s32
	evResetReason = 16 // u32
	evResetFlags  = 17 // u32
	evServerSide  = 18 // u8 up to 6.x, a flag on newer kernels
)

// Event types (enum mptcp_event_type).
const (
	EventCreated         EventType = 1
	EventEstablished     EventType = 2
	EventClosed          EventType = 3
	EventAnnounced       EventType = 6
	EventRemoved         EventType = 7
	EventSubEstablished  EventType = 10
	EventSubClosed       EventType = 11
	EventSubPriority     EventType = 13
	EventListenerCreated EventType = 15 // 6.3+
	EventListenerClosed  EventType = 16 // 6.3+
)

// Endpoint flags (MPTCP_PM_ADDR_FLAG_*).
const (
	FlagSignal   Flags = 1 << 0
	FlagSubflow  Flags = 1 << 1
	FlagBackup   Flags = 1 << 2
	FlagFullmesh Flags = 1 << 3
	FlagImplicit Flags = 1 << 4
	FlagLaminar  Flags = 1 << 5 // 6.18+
)

// EventFlagDenyJoinID0 is MPTCP_PM_EV_FLAG_DENY_JOIN_ID0: the peer refuses joins to
// the address of the initial subflow.
const EventFlagDenyJoinID0 = 1 << 0

// Socket options (SOL_MPTCP).
const (
	SOL_MPTCP           = 284
	MPTCP_INFO          = 1
	MPTCP_TCPINFO       = 2
	MPTCP_SUBFLOW_ADDRS = 3
)

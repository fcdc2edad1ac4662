# A two-node cluster on one machine (sourced; docs/two-node-cluster.md): two network
# namespaces joined by a veth pair, each a "node" with its own address (10.77.0.1, .2 on
# a /24 that exists only between them) and its own host name (node1, node2: each process
# runs in a UTS namespace of its own). mpirun runs on node1 and starts node2's daemon
# through an rsh agent that enters node2's namespaces, so ranks on different nodes talk over
# TCP on the veth link, never through shared memory. Needs root and iproute2.
#   cluster_up DIR: the namespaces, the link, DIR/agent.sh and DIR/mpirun.sh (HOSTS NP
#     ARGS...: mpirun on node1 over HOSTS, "10.77.0.1:2,10.77.0.2:2"; a command of its own,
#     so that a wrapper such as slurm/run-with-requeue.sh can run it)
#   cluster_mpirun HOSTS NP ARGS...   cluster_pids NODE (1|2)   cluster_down
cluster_up() {
  cluster_dir=$1
  cluster_ns=(mtdnn-$$-n1 mtdnn-$$-n2)
  cluster_addr=(10.77.0.1 10.77.0.2)
  cluster_subnet=10.77.0.0/24
  mkdir -p "$cluster_dir"
  trap cluster_down EXIT
  ip netns add "${cluster_ns[0]}"
  ip netns add "${cluster_ns[1]}"
  ip link add "mt$$a" type veth peer name "mt$$b"
  ip link set "mt$$a" netns "${cluster_ns[0]}"
  ip link set "mt$$b" netns "${cluster_ns[1]}"
  ip -n "${cluster_ns[0]}" addr add "${cluster_addr[0]}/24" dev "mt$$a"
  ip -n "${cluster_ns[1]}" addr add "${cluster_addr[1]}/24" dev "mt$$b"
  local i
  for i in 0 1; do
    ip -n "${cluster_ns[$i]}" link set lo up
  done
  ip -n "${cluster_ns[0]}" link set "mt$$a" up
  ip -n "${cluster_ns[1]}" link set "mt$$b" up
  # OpenMPI's rsh agent: HOST COMMAND...; the command runs on that node.
  cat >"$cluster_dir/agent.sh" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
  ${cluster_addr[0]}) ns=${cluster_ns[0]} name=node1 ;;
  ${cluster_addr[1]}) ns=${cluster_ns[1]} name=node2 ;;
  *) echo "agent: no node \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$name; \$*"
AGENT
  cat >"$cluster_dir/mpirun.sh" <<LAUNCH
#!/bin/sh
hosts=\$1 np=\$2
shift 2
exec ip netns exec "${cluster_ns[0]}" unshare --uts sh -c 'hostname node1; exec "\$@"' sh \\
  mpirun --mca plm_rsh_agent "$cluster_dir/agent.sh" --host "\$hosts" -np "\$np" --bind-to none \\
  --mca btl self,vader,tcp --mca btl_tcp_if_include $cluster_subnet --mca oob_tcp_if_include $cluster_subnet "\$@"
LAUNCH
  chmod +x "$cluster_dir/agent.sh" "$cluster_dir/mpirun.sh"
}

cluster_mpirun() { "$cluster_dir/mpirun.sh" "$@"; }

cluster_pids() { ip netns pids "${cluster_ns[$(($1 - 1))]}" 2>/dev/null || true; }

# Bytes sent by node2's end of the link so far.
cluster_node2_tx_bytes() { ip netns exec "${cluster_ns[1]}" cat "/sys/class/net/mt$$b/statistics/tx_bytes"; }

cluster_down() {
  local ns pid
  for ns in "${cluster_ns[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

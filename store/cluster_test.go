package store

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCluster runs the whole store suite on a Redis Cluster of three masters
// started here: every per-account key carries the {account} hash tag, so
// each script, MULTI and MGET stays on one slot.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Cluster run starts three redis-server processes")
	}
	needRedisServer(t)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redis-server without redis-cli")
	}
	var addrs []string
	for range 3 {
		port := freePort(t)
		startRedisServer(t, port, nil,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		addrs = append(addrs, fmt.Sprint("127.0.0.1:", port))
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	waitClusterOK(t, addrs)
	url := "redis+cluster://" + strings.Join(addrs, ",")

	// The accounts of the suite spread over the three masters.
	db, err := Open(t.Context(), Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok := db.Client().(*redis.ClusterClient); !ok {
		t.Fatalf("client %T is not a Cluster client", db.Client())
	}
	runSuite(t, url)
}

// waitClusterOK waits until every node reports cluster_state:ok.
func waitClusterOK(t *testing.T, addrs []string) {
	t.Helper()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		ok := false
		for range 200 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := c.ClusterInfo(ctx).Result()
			cancel()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				ok = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
		if !ok {
			t.Fatalf("cluster node %s never reached cluster_state:ok", a)
		}
	}
}

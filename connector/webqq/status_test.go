package webqq

import (
	"testing"

	"github.com/openqq-relay/openqq"
)

// The status table of spec §5.6.
func TestSendStatus(t *testing.T) {
	for _, tc := range []struct {
		body string
		want openqq.SendResult
	}{
		{`{"errCode":0,"msg":"send ok"}`, openqq.SendResult{Code: 0, Msg: "发送成功", Info: "发送正常"}},
		{`{"errCode":1,"errMsg":"ERROR"}`, openqq.SendResult{Code: -3, Msg: "发送失败", Info: "发送异常"}},
		{`{"msg":"x","errCode":0}`, openqq.SendResult{Code: -4, Msg: "发送失败", Info: `响应未知: {"errCode":0,"msg":"x"}`}},
		{`{"retcode":0}`, openqq.SendResult{Code: 0, Msg: "发送成功", Info: "发送正常"}},
		{`{"retcode":0,"result":"ok"}`, openqq.SendResult{Code: 0, Msg: "发送成功", Info: "发送正常"}},
		{`{"retcode":1202,"errmsg":""}`, openqq.SendResult{Code: 0, Msg: "发送成功", Info: "忽略返回值: 1202"}},
		{`{"errmsg":"error!!!","retcode":100100}`, openqq.SendResult{Code: 0, Msg: "发送成功", Info: "忽略返回值: 100100"}},
		{`{"retcode":100001}`, openqq.SendResult{Code: -5, Msg: "发送失败", Info: "未识别返回值:100001"}},
		{`{"retcode":103}`, openqq.SendResult{Code: -5, Msg: "发送失败", Info: "未识别返回值:103"}},
		{`{"result":"?"}`, openqq.SendResult{Code: -2, Msg: "发送失败", Info: `响应未知: {"result":"?"}`}},
		{`<html>502</html>`, openqq.SendResult{Code: -1, Msg: "发送失败", Info: "数据格式错误"}},
		{`{"retcode":`, openqq.SendResult{Code: -1, Msg: "发送失败", Info: "数据格式错误"}},
		{`[1,2]`, openqq.SendResult{Code: -1, Msg: "发送失败", Info: "数据格式错误"}},
		{`null`, openqq.SendResult{Code: -1, Msg: "发送失败", Info: "数据格式错误"}},
	} {
		if got := sendStatus([]byte(tc.body)); got != tc.want {
			t.Errorf("sendStatus(%s) = %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

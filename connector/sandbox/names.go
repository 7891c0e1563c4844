package sandbox

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Tables the world generator draws realistic Chinese names from.

var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
	"何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
	"肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
	"任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
	"韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
	"龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "武", "戴", "莫",
	"孔", "向", "汤", "欧阳", "司马", "上官", "诸葛",
}

var givenMale = []string{
	"伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "辉", "刚", "平", "鹏", "华", "飞",
	"鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳", "建",
	"志", "国", "文", "晨", "博", "昊", "然", "子轩", "浩然", "宇航", "俊杰", "文博", "一鸣", "泽宇",
}

var givenFemale = []string{
	"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "莹", "倩", "颖",
	"琳", "洁", "梅", "萍", "红", "瑶", "欣", "怡", "佳", "璐", "晶", "悦", "雨", "薇", "思琪", "梓涵",
	"欣怡", "雨桐", "可馨", "诗涵", "晓燕", "美玲", "婉清", "紫萱",
}

var nicknames = []string{
	"追风少年", "小鱼儿", "快乐的小猪", "半夏", "浅笑安然", "南风知我意", "一只喵", "阿飞", "老王",
	"吃瓜群众", "Renne.", "Sunny", "Kevin", "Lucky", "木子", "不二", "夏天的风", "旧城以西", "大白",
	"胖虎", "猫先生", "晴天", "小确幸", "深海鱼", "青柠", "明天会更好", "知足常乐", "逗比一枚",
	"code monkey", "程序猿", "路人甲", "孤独的行者", "海阔天空", "随遇而安", "笨笨熊", "向日葵",
	"月半弯", "小太阳", "时光", "一叶知秋", "Jack", "Tony", "Amy", "Coco", "星空", "咸鱼",
}

var signatures = []string{
	"", "", "这是我的个性签名", "好好学习，天天向上", "生活不止眼前的苟且", "努力工作，认真生活",
	"今天也要加油鸭", "心若向阳，无畏悲伤", "沉默是金", "代码改变世界", "在路上", "慢慢来，比较快",
}

var places = []struct{ province, city string }{
	{"北京", "海淀"}, {"北京", "朝阳"}, {"上海", "浦东新区"}, {"上海", "徐汇"}, {"广东", "广州"},
	{"广东", "深圳"}, {"浙江", "杭州"}, {"浙江", "宁波"}, {"江苏", "南京"}, {"江苏", "苏州"},
	{"四川", "成都"}, {"湖北", "武汉"}, {"湖南", "长沙"}, {"陕西", "西安"}, {"山东", "济南"},
	{"山东", "青岛"}, {"福建", "厦门"}, {"河南", "郑州"}, {"重庆", "渝中"}, {"天津", "南开"},
	{"辽宁", "沈阳"}, {"黑龙江", "哈尔滨"}, {"云南", "昆明"}, {"安徽", "合肥"}, {"", ""},
}

// categoryNames are the buddy-list folders; index 0 is the default folder,
// which the real service left out of the categories list (spec §4.2).
var categoryNames = []string{"我的好友", "同学", "同事", "家人", "朋友"}

var groupTopics = []string{
	"摄影", "驴友", "跑步", "羽毛球", "读书", "美食", "租房", "宠物", "Go语言", "Python", "前端",
	"考研", "二手", "篮球", "自驾游", "单车", "吉他", "桌游",
}

var groupSchools = []string{"实验中学", "第一中学", "师范大学", "理工大学", "外国语学校", "财经大学"}

var groupGames = []string{"王者荣耀", "英雄联盟", "绝地求生", "我的世界", "炉石传说"}

var groupMemos = []string{
	"", "群简介", "欢迎新人，进群请改名片", "禁止广告，违者踢", "有事请@管理员", "周末活动见群公告",
	"本群只聊技术，灌水请移步", "相亲相爱一家人", "文明发言，友好交流",
}

var discussTopics = []string{"周末聚餐", "项目讨论", "毕业旅行", "年会筹备", "装修群聊", "搬家互助"}

var cardRoles = []string{"技术", "产品", "设计", "运营", "学生", "老师", "吃货", "新人"}

// statuses are the online states a contact may show; hidden contacts look
// offline to others.
var onlineStatuses = []string{"online", "online", "online", "away", "busy", "callme", "silent"}

// clientTypes are the client codes of spec §16.1.
var clientTypes = []int{1, 21, 24, 41}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func realName(r *rand.Rand, gender string) string {
	if gender == "female" {
		return pick(r, surnames) + pick(r, givenFemale)
	}
	return pick(r, surnames) + pick(r, givenMale)
}

func nickName(r *rand.Rand, gender string) string {
	switch n := r.IntN(10); {
	case n < 4:
		return realName(r, gender)
	case n < 5:
		if gender == "female" {
			return "小" + pick(r, givenFemale)
		}
		return "阿" + pick(r, givenMale)
	default:
		return pick(r, nicknames)
	}
}

func groupName(r *rand.Rand, year int) string {
	p := pick(r, places)
	city := p.city
	if city == "" {
		city = "北京"
	}
	switch r.IntN(7) {
	case 0:
		return city + pick(r, groupTopics) + "交流群"
	case 1:
		return pick(r, groupSchools) + strconv.Itoa(year%100) + "级" + strconv.Itoa(1+r.IntN(12)) + "班"
	case 2:
		return pick(r, surnames) + "氏家族群"
	case 3:
		return "周末" + pick(r, groupTopics) + "群"
	case 4:
		return pick(r, groupGames) + "开黑群"
	case 5:
		return pick(r, groupTopics) + "爱好者" + strconv.Itoa(1+r.IntN(9)) + "群"
	default:
		return "相亲相爱一家人"
	}
}

// cardFor makes a group card the way people write them: a real name, a
// role-name pair or a city-nick pair.
func cardFor(r *rand.Rand, p *person) string {
	switch r.IntN(3) {
	case 0:
		return realName(r, p.gender)
	case 1:
		return pick(r, cardRoles) + "-" + realName(r, p.gender)
	default:
		city := p.city
		if city == "" {
			city = "火星"
		}
		return city + "-" + p.nick
	}
}

// discussName is the default name the service gave a discussion: the first
// members' nicks joined with "、", or a topic.
func discussName(r *rand.Rand, members []*person) string {
	if r.IntN(2) == 0 || len(members) < 2 {
		return pick(r, discussTopics)
	}
	var names []string
	for _, m := range members[:min(3, len(members))] {
		names = append(names, m.nick)
	}
	return strings.Join(names, "、")
}

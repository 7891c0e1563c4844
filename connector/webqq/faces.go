package webqq

// faceNames maps classic QQ face ids to names, used both ways (spec §5.5).
var faceNames = map[int]string{
	0: "惊讶", 1: "撇嘴", 2: "色", 3: "发呆", 4: "得意", 5: "流泪", 6: "害羞", 7: "闭嘴", 8: "睡", 9: "大哭", 10: "尴尬",
	11: "发怒", 12: "调皮", 13: "呲牙", 14: "微笑", 21: "飞吻", 23: "跳跳", 25: "发抖", 26: "怄火", 27: "爱情",
	29: "足球", 32: "西瓜", 33: "玫瑰", 34: "凋谢", 36: "爱心", 37: "心碎", 38: "蛋糕", 39: "礼物", 42: "太阳",
	45: "月亮", 46: "强", 47: "弱", 50: "难过", 51: "酷", 53: "抓狂", 54: "吐", 55: "惊恐", 56: "流汗", 57: "憨笑",
	58: "大兵", 59: "猪头", 62: "拥抱", 63: "咖啡", 64: "饭", 71: "握手", 72: "便便", 73: "偷笑", 74: "可爱", 75: "白眼",
	76: "傲慢", 77: "饥饿", 78: "困", 79: "奋斗", 80: "咒骂", 81: "疑问", 82: "嘘", 83: "晕", 84: "折磨", 85: "衰",
	86: "骷髅", 87: "敲打", 88: "再见", 91: "闪电", 92: "炸弹", 93: "刀", 95: "胜利", 96: "冷汗", 97: "擦汗", 98: "抠鼻",
	99: "鼓掌", 100: "糗大了", 101: "坏笑", 102: "左哼哼", 103: "右哼哼", 104: "哈欠", 105: "鄙视", 106: "委屈",
	107: "快哭了", 108: "阴险", 109: "亲亲", 110: "吓", 111: "可怜", 112: "菜刀", 113: "啤酒", 114: "篮球", 115: "乒乓",
	116: "示爱", 117: "瓢虫", 118: "抱拳", 119: "勾引", 120: "拳头", 121: "差劲", 122: "爱你", 123: "NO", 124: "OK",
	125: "转圈", 126: "磕头", 127: "回头", 128: "跳绳", 129: "挥手", 130: "激动", 131: "街舞", 132: "献吻",
	133: "左太极", 134: "右太极",
}

// emojiNames maps the emoji codes of received messages (":joy:") to
// names (spec §5.5); they are not converted when sending.
var emojiNames = map[string]string{
	"100": "100分", "1234": "1234", "grinning": "笑嘻嘻", "joy": "高兴", "smiley": "微笑", "emoji": "失望",
	"smirk": "假笑", "pensive": "沉思", "grin": "露齿而笑", "wink": "眨眼", "scream": "尖叫", "confounded": "糊涂",
	"kissing_closed_eyes": "闭上眼睛亲吻", "stuck_out_tongue_closed_eyes": "闭眼吐舌头", "relieved": "放心",
	"fearful": "担心", "mask": "戴口罩", "flushed": "脸红", "unamused": "无趣", "cold_sweat": "冒冷汗",
	"astonished": "吃惊", "sob": "流泪", "stuck_out_tongue_winking_eye": "眨眼吐舌头", "kissing_heart": "飞吻",
	"rage": "愤怒", "muscle": "秀肌肉", "punch": "拳头猛击", "thumbsup": "竖起大拇指", "point_up": "竖起中指",
	"clap": "鼓掌", "v": "胜利", "thumbsdown": "大拇指向下", "pray": "祈祷", "ok_hand": "OK",
	"point_left": "向左指", "point_right": "向右指", "point_up_2": "向上指", "point_down": "向下指",
	"eyes": "大眼珠", "nose": "鼻子", "lips": "嘴唇", "ear": "耳朵", "rice": "米饭", "spaghetti": "意大利面",
	"ramen": "拉面", "rice_ball": "饭团", "shaved_ice": "冰沙", "sushi": "熟食", "birthday": "生日蛋糕",
	"bread": "面包", "hamburger": "汉堡包", "egg": "煎鸡蛋", "fries": "薯条", "beer": "一杯啤酒", "beers": "啤酒",
	"cocktail": "鸡尾酒", "coffee": "咖啡", "apple": "苹果", "tangerine": "蜜橘", "snowman": "雪人", "o": "圈",
	"x": "叉", "grey_question": "灰色问号", "grey_exclamation": "灰色感叹号", "telephone": "电话", "camera": "相机",
	"iphone": "手机", "fax": "传真机", "computer": "电脑", "movie_camera": "摄像机", "microphone": "麦克风",
	"gun": "手枪", "cd": "光盘", "heartbeat": "心动", "clubs": "梅花", "mahjong": "麻将牌",
	"part_alternation_mark": "衣架", "slot_machine": "投币机", "traffic_light": "红绿灯",
	"construction": "施工", "guitar": "吉他", "barber": "理发店", "bath": "浴缸", "toilet": "坐便器",
	"house": "房子", "church": "教堂", "bank": "银行", "hospital": "医院", "hotel": "旅店", "atm": "ATM",
	"convenience_store": "便利店", "mens": "男洗手间", "womens": "女洗手间",
}

// faceIDs is faceNames reversed, for sending.
var faceIDs = func() map[string]int {
	m := make(map[string]int, len(faceNames))
	for id, name := range faceNames {
		m[name] = id
	}
	return m
}()

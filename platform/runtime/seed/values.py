"""Word lists and value generators for demo data: realistic, bilingual (mostly Chinese, some
English), and reproducible - every generator draws from the `random.Random` it is given.

`Values` keeps a little context for the record being made (the last person or company name it
produced) so that an email or a website that follows matches them: 张伟 of 恒通电子 gets
zhangwei@hengtong-tech.com rather than a random address.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any

ENGLISH_SHARE = 0.15  # share of English names among generated names

# city (zh, en, latitude, longitude, area code, region)
CITIES = (
    ("上海", "Shanghai", 31.23, 121.47, "021", "华东"), ("北京", "Beijing", 39.90, 116.40, "010", "华北"),
    ("广州", "Guangzhou", 23.13, 113.26, "020", "华南"), ("深圳", "Shenzhen", 22.54, 114.06, "0755", "华南"),
    ("杭州", "Hangzhou", 30.27, 120.16, "0571", "华东"), ("南京", "Nanjing", 32.06, 118.80, "025", "华东"),
    ("苏州", "Suzhou", 31.30, 120.58, "0512", "华东"), ("宁波", "Ningbo", 29.87, 121.54, "0574", "华东"),
    ("无锡", "Wuxi", 31.49, 120.31, "0510", "华东"), ("成都", "Chengdu", 30.57, 104.07, "028", "西南"),
    ("重庆", "Chongqing", 29.56, 106.55, "023", "西南"), ("武汉", "Wuhan", 30.59, 114.31, "027", "华中"),
    ("西安", "Xi'an", 34.34, 108.94, "029", "西北"), ("天津", "Tianjin", 39.13, 117.20, "022", "华北"),
    ("青岛", "Qingdao", 36.07, 120.38, "0532", "华东"), ("厦门", "Xiamen", 24.48, 118.09, "0592", "华南"),
    ("长沙", "Changsha", 28.23, 112.94, "0731", "华中"), ("郑州", "Zhengzhou", 34.75, 113.63, "0371", "华中"),
    ("济南", "Jinan", 36.65, 117.12, "0531", "华东"), ("合肥", "Hefei", 31.82, 117.23, "0551", "华东"),
    ("东莞", "Dongguan", 23.02, 113.75, "0769", "华南"), ("佛山", "Foshan", 23.02, 113.12, "0757", "华南"),
    ("常州", "Changzhou", 31.81, 119.97, "0519", "华东"), ("福州", "Fuzhou", 26.07, 119.30, "0591", "华南"),
    ("沈阳", "Shenyang", 41.81, 123.43, "024", "东北"), ("大连", "Dalian", 38.91, 121.61, "0411", "东北"),
    ("昆明", "Kunming", 24.88, 102.83, "0871", "西南"), ("温州", "Wenzhou", 28.00, 120.70, "0577", "华东"),
)
CITY_WEIGHTS = (9, 8, 7, 7, 6, 5, 6, 4, 4, 4, 3, 4, 3, 3, 3, 3, 3, 3, 2, 3, 3, 3, 2, 2, 2, 2, 2, 2)
REGION_PREFIXES = ("华东", "华南", "华北", "华中", "西南", "东方", "中原", "江南")

# company: (core word, pinyin for web sites and mail domains)
CORES = (
    ("精密", "jingmi"), ("恒通", "hengtong"), ("瑞丰", "ruifeng"), ("华信", "huaxin"), ("金诚", "jincheng"),
    ("鼎盛", "dingsheng"), ("永安", "yongan"), ("宏达", "hongda"), ("天成", "tiancheng"),
    ("联创", "lianchuang"), ("博远", "boyuan"), ("海纳", "haina"), ("新元", "xinyuan"),
    ("远航", "yuanhang"), ("汇智", "huizhi"), ("同创", "tongchuang"), ("嘉禾", "jiahe"),
    ("凯越", "kaiyue"), ("明辉", "minghui"), ("安信", "anxin"), ("立信", "lixin"), ("卓越", "zhuoyue"),
    ("康达", "kangda"), ("泰和", "taihe"), ("锦程", "jincheng"), ("启明", "qiming"), ("智远", "zhiyuan"),
    ("正源", "zhengyuan"), ("中孚", "zhongfu"), ("恒瑞", "hengrui"), ("科达", "keda"), ("德润", "derun"),
)
# industry: (zh, en, short word for domains)
INDUSTRIES = (
    ("机械", "Machinery", "mach"), ("电子", "Electronics", "elec"), ("科技", "Technology", "tech"),
    ("信息技术", "Information Technology", "it"), ("自动化", "Automation", "auto"),
    ("新材料", "Advanced Materials", "material"), ("医疗器械", "Medical Devices", "med"),
    ("环保科技", "Environmental Technology", "env"), ("物流", "Logistics", "logistics"),
    ("建设工程", "Engineering", "eng"), ("化工", "Chemicals", "chem"), ("食品", "Foods", "food"),
    ("汽车零部件", "Auto Parts", "parts"), ("能源", "Energy", "energy"), ("软件", "Software", "soft"),
    ("仪器仪表", "Instruments", "inst"), ("包装", "Packaging", "pack"), ("光电", "Optoelectronics", "opto"),
)
SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")
SUFFIX_WEIGHTS = (6, 2, 1, 1)
EN_CORES = ("Pacific", "Summit", "Evergreen", "Bluestone", "Northstar", "Orient", "Harbor", "Apex",
            "Silverline", "Crescent", "Meridian", "Redwood", "Lotus", "Jade River")
EN_SUFFIXES = ("Co., Ltd.", "Ltd.", "Inc.", "Group")

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"),
    ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"), ("潘", "pan"),
    ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"), ("叶", "ye"), ("程", "cheng"),
    ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"), ("姚", "yao"),
    ("卢", "lu"), ("钟", "zhong"), ("陆", "lu"), ("范", "fan"), ("金", "jin"), ("欧阳", "ouyang"),
)
GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("志强", "zhiqiang"), ("建华", "jianhua"),
    ("晓东", "xiaodong"), ("海燕", "haiyan"), ("俊杰", "junjie"), ("子涵", "zihan"), ("欣怡", "xinyi"),
    ("浩然", "haoran"), ("雨桐", "yutong"), ("宇航", "yuhang"), ("思远", "siyuan"), ("佳琪", "jiaqi"),
    ("文博", "wenbo"), ("嘉怡", "jiayi"), ("一鸣", "yiming"), ("婷", "ting"), ("鹏", "peng"),
    ("华", "hua"), ("慧", "hui"), ("斌", "bin"), ("琳", "lin"), ("晨", "chen"), ("凯", "kai"),
)
EN_FIRST = ("David", "Michael", "Sarah", "Emily", "James", "Linda", "Kevin", "Grace", "Tony",
            "Jessica", "Eric", "Helen", "Daniel", "Anna", "Peter", "Lucy")
EN_LAST = ("Smith", "Johnson", "Brown", "Lee", "Wong", "Miller", "Davis", "Wilson", "Taylor",
           "Clark", "Walker", "Martin", "Schmidt", "Tanaka")
FREE_MAIL = ("qq.com", "163.com", "126.com", "foxmail.com", "outlook.com", "gmail.com")

DISTRICTS = ("高新区", "经济技术开发区", "工业园区", "科技园", "新区", "滨江区", "临港新区", "开发区")
ROADS = ("人民路", "中山路", "建设路", "解放路", "科技大道", "创业路", "长江路", "黄河路", "文化路",
         "工业大道", "星湖街", "金桥路", "凤凰路", "学府路", "东环路", "西湖大道")
EN_ROADS = ("Renmin Rd", "Zhongshan Rd", "Keji Ave", "Chuangye Rd", "Changjiang Rd", "Xinghu St")

ITEMS = (
    ("数控机床", "CNC Machine Tool", "CK"), ("工业机器人", "Industrial Robot", "IR"),
    ("伺服电机", "Servo Motor", "SM"), ("变频器", "Frequency Inverter", "VF"),
    ("PLC 控制器", "PLC Controller", "PLC"), ("激光切割机", "Laser Cutting Machine", "LC"),
    ("视觉检测系统", "Vision Inspection System", "VI"), ("智能仓储系统", "Smart Warehouse System", "WMS"),
    ("MES 制造执行系统", "MES Platform", "MES"), ("数据采集网关", "Data Gateway", "DG"),
    ("空气压缩机", "Air Compressor", "AC"), ("UPS 不间断电源", "UPS Power Supply", "UPS"),
    ("工控一体机", "Industrial Panel PC", "IPC"), ("传感器模组", "Sensor Module", "SN"),
    ("液压系统", "Hydraulic System", "HS"), ("年度维保服务", "Annual Maintenance Service", "SVC"),
    ("ERP 实施服务", "ERP Implementation", "ERP"), ("备品备件包", "Spare Parts Kit", "SP"),
)
ITEM_TAILS = ("", "", "", " 升级项目", " 采购项目", " 二期", " 改造项目")

SENTENCES = (
    "客户对方案整体认可，等待内部审批。", "已发送报价单，下周电话跟进。", "需要技术团队到现场做一次演示。",
    "对交付周期比较关注，要求提供详细排期。", "采购流程较长，预计下季度决策。",
    "竞争对手报价更低，需要突出服务优势。", "希望先试用一个月再做决定。", "已约好下周三上午与技术总监见面。",
    "预算已批复，准备进入商务谈判。", "对售后响应时间有明确要求，需提供服务承诺。",
    "关键决策人是采购总监，需尽快安排会面。", "要求提供同行业成功案例。", "付款条件需要财务部确认。",
    "现场勘察已完成，方案下周提交。", "客户计划年底前完成设备更新。",
    "Asked for a revised proposal with volume pricing.", "Decision expected after the budget review next month.",
    "Technical evaluation went well; waiting for procurement.",
    "Schedule an on-site demo with the engineering team.",
    "Interested in a pilot before a full rollout.",
)
JOB_TITLES = ("总经理", "采购经理", "技术总监", "财务经理", "项目经理", "工程师", "运营总监", "IT 经理",
              "General Manager", "Purchasing Manager", "Head of Engineering")
PHRASES = ("安排启动会议", "发送方案", "确认商务条款", "跟进付款", "安排演示", "回访", "准备技术资料",
           "整理需求清单", "Prepare the kick-off deck", "Send the revised proposal", "Call back next week")


@dataclass
class Person:
    name: str
    handle: str  # romanized, for mail addresses


@dataclass
class Company:
    name: str
    slug: str
    english: bool


def nice_number(value: float, digits: int = 3) -> float:
    """Round to a few significant digits, as people state amounts (128,000 rather than 127,913)."""
    if value <= 0:
        return round(value)
    step = 10 ** max(0, int(math.floor(math.log10(value))) - digits + 1)
    return round(value / step) * step


class Values:
    """Named generators over one random stream, with a little per-record context."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.person: Person | None = None
        self.company: Company | None = None
        self.place: tuple | None = None

    def new_record(self) -> None:
        self.person = self.company = self.place = None

    # --- places -------------------------------------------------------------------------------

    def _city(self) -> tuple:
        if self.place is None:
            self.place = self.rng.choices(CITIES, CITY_WEIGHTS)[0]
        return self.place

    def city(self) -> str:
        return self._city()[0]

    def address(self) -> str:
        city = self._city()
        number = self.rng.randint(1, 999)
        if self.company is not None and self.company.english:
            return f"{number} {self.rng.choice(EN_ROADS)}, {city[1]}"
        return f"{city[0]}市{self.rng.choice(DISTRICTS)}{self.rng.choice(ROADS)}{number}号"

    def location(self) -> dict:
        city = self._city()
        return {"lat": round(city[2] + self.rng.uniform(-0.12, 0.12), 6),
                "lng": round(city[3] + self.rng.uniform(-0.12, 0.12), 6), "address": self.address()}

    def region(self) -> str:
        return self._city()[5]

    # --- names ----------------------------------------------------------------------------------

    def company_name(self) -> str:
        rng = self.rng
        core, slug = rng.choice(CORES)
        industry = rng.choice(INDUSTRIES)
        if rng.random() < ENGLISH_SHARE:
            city = self._city()
            name = f"{rng.choice(EN_CORES)} {industry[1]} {rng.choice(EN_SUFFIXES)}"
            if rng.random() < 0.5:
                name = f"{city[1]} {name}"
            self.company = Company(name, name.split()[0].lower().replace("'", "") + "-" + industry[2], True)
        else:
            prefix = self._city()[0] if rng.random() < 0.7 else rng.choice(REGION_PREFIXES)
            suffix = rng.choices(SUFFIXES, SUFFIX_WEIGHTS)[0]
            self.company = Company(f"{prefix}{core}{industry[0]}{suffix}", f"{slug}-{industry[2]}", False)
        return self.company.name

    def person_name(self) -> str:
        rng = self.rng
        if rng.random() < ENGLISH_SHARE:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            self.person = Person(f"{first} {last}", f"{first}.{last}".lower())
        else:
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            self.person = Person(surname[0] + given[0], given[1] + "." + surname[1]
                                 if rng.random() < 0.3 else surname[1] + given[1])
        return self.person.name

    def item_name(self) -> str:
        zh, en, code = self.rng.choice(ITEMS)
        model = f"{code}-{self.rng.choice((10, 20, 35, 50, 100, 200, 750, 3015, 6150))}"
        if self.rng.random() < ENGLISH_SHARE:
            return f"{en} {model}"
        return f"{zh} {model}"

    def project_name(self) -> str:
        """A name for a deal: an item and what is being done about it."""
        return (self.item_name() + self.rng.choice(ITEM_TAILS)).strip()

    def job_title(self) -> str:
        return self.rng.choice(JOB_TITLES)

    def phrase(self) -> str:
        return self.rng.choice(PHRASES)

    def sentence(self) -> str:
        first = self.rng.choice(SENTENCES)
        if self.rng.random() < 0.25:
            second = self.rng.choice(SENTENCES)
            if second != first and first[-1] in "。" and second[-1] in "。":
                return first + second
        return first

    # --- reachable ------------------------------------------------------------------------------

    def phone(self) -> str:
        rng = self.rng
        if self.company is not None and self.person is None and rng.random() < 0.7:
            return f"{self._city()[4]}-{rng.randint(5, 8)}{rng.randint(0, 9999999):07d}"
        return f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"

    def email(self) -> str:
        rng = self.rng
        person = self.person or Person("", rng.choice(SURNAMES)[1] + rng.choice(GIVEN)[1])
        handle = person.handle
        if rng.random() < 0.2:
            handle += str(rng.randint(1, 99))
        if self.company is not None and rng.random() < 0.8:
            ending = ".com" if self.company.english else rng.choice((".com", ".cn", ".com.cn"))
            domain = self.company.slug + ending
        else:
            domain = rng.choice(FREE_MAIL)
        return f"{handle}@{domain}"

    def url(self) -> str:
        if self.company is not None:
            slug = self.company.slug
        else:
            slug = f"{self.rng.choice(CORES)[1]}-{self.rng.choice(INDUSTRIES)[2]}"
        return f"https://www.{slug}{self.rng.choice(('.com', '.cn', '.com.cn'))}"

    def handle(self) -> str:
        return (self.person.handle if self.person else self.rng.choice(SURNAMES)[1]).replace(".", "_") \
            + str(self.rng.randint(10, 9999))

    # --- numbers and time -----------------------------------------------------------------------

    def amount(self, low: float, high: float) -> float:
        """A realistic amount: log-uniform between the bounds when they are far apart."""
        if low > 0 and high / low >= 20:
            value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        else:
            value = self.rng.uniform(low, high)
        nice = nice_number(value)
        return nice if low <= nice <= high or low == high else round(value, 2)

    def work_time(self, day: dt.date, zone: dt.tzinfo) -> dt.datetime:
        """A moment in office hours (09:00-18:00 in `zone`) on `day`, as UTC."""
        minutes = self.rng.randint(9 * 60, 18 * 60 - 1)
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)
        return local.astimezone(dt.timezone.utc)


# the seed format's named generators → Values methods
NAMED = {"company_name": "company_name", "person_name": "person_name", "phone": "phone", "email": "email",
         "city": "city", "address": "address", "sentence": "sentence", "product_name": "item_name", "url": "url"}


def named(values: Values, name: str) -> Any:
    """The value of a named generator of the seed format (`company_name`, `phone`, ...)."""
    if name not in NAMED:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(NAMED)}")
    return getattr(values, NAMED[name])()

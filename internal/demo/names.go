package demo

// name is a given name or surname as people write it, with the ASCII form that goes into
// generated email addresses (addresses with accents are legal but real ones rarely have them).
type name struct {
	text, ascii string
}

// Given names and surnames come in a Spanish and an English set, so that a customer's name, the
// language they write in and their address agree with one another.
var (
	givenNames = [2][]name{
		langEN: {
			{"James", "james"}, {"Olivia", "olivia"}, {"Oliver", "oliver"}, {"Amelia", "amelia"},
			{"Jack", "jack"}, {"Isla", "isla"}, {"Harry", "harry"}, {"Emily", "emily"},
			{"George", "george"}, {"Sophie", "sophie"}, {"Thomas", "thomas"}, {"Grace", "grace"},
			{"William", "william"}, {"Charlotte", "charlotte"}, {"Daniel", "daniel"}, {"Hannah", "hannah"},
			{"Michael", "michael"}, {"Emma", "emma"}, {"David", "david"}, {"Chloe", "chloe"},
			{"Samuel", "samuel"}, {"Lucy", "lucy"}, {"Joseph", "joseph"}, {"Ella", "ella"},
			{"Ryan", "ryan"}, {"Megan", "megan"}, {"Matthew", "matthew"}, {"Rachel", "rachel"},
			{"Andrew", "andrew"}, {"Laura", "laura"}, {"Christopher", "christopher"}, {"Jessica", "jessica"},
			{"Ethan", "ethan"}, {"Abigail", "abigail"}, {"Noah", "noah"}, {"Zoe", "zoe"},
		},
		langES: {
			{"Lucía", "lucia"}, {"Hugo", "hugo"}, {"Sofía", "sofia"}, {"Martín", "martin"},
			{"Martina", "martina"}, {"Pablo", "pablo"}, {"María", "maria"}, {"Alejandro", "alejandro"},
			{"Paula", "paula"}, {"Daniel", "daniel"}, {"Julia", "julia"}, {"Álvaro", "alvaro"},
			{"Carmen", "carmen"}, {"Javier", "javier"}, {"Elena", "elena"}, {"Sergio", "sergio"},
			{"Ana", "ana"}, {"David", "david"}, {"Laura", "laura"}, {"Carlos", "carlos"},
			{"Marta", "marta"}, {"Jorge", "jorge"}, {"Irene", "irene"}, {"Adrián", "adrian"},
			{"Nuria", "nuria"}, {"Raúl", "raul"}, {"Cristina", "cristina"}, {"Iván", "ivan"},
			{"Isabel", "isabel"}, {"Miguel", "miguel"}, {"Rocío", "rocio"}, {"José Luis", "joseluis"},
			{"Ainhoa", "ainhoa"}, {"Íñigo", "inigo"}, {"Montserrat", "montserrat"}, {"Jordi", "jordi"},
		},
	}
	surnames = [2][]name{
		langEN: {
			{"Smith", "smith"}, {"Jones", "jones"}, {"Taylor", "taylor"}, {"Brown", "brown"},
			{"Williams", "williams"}, {"Wilson", "wilson"}, {"Johnson", "johnson"}, {"Davies", "davies"},
			{"Robinson", "robinson"}, {"Wright", "wright"}, {"Thompson", "thompson"}, {"Evans", "evans"},
			{"Walker", "walker"}, {"White", "white"}, {"Roberts", "roberts"}, {"Green", "green"},
			{"Hall", "hall"}, {"Wood", "wood"}, {"Jackson", "jackson"}, {"Clarke", "clarke"},
			{"O'Brien", "obrien"}, {"Murphy", "murphy"}, {"Hughes", "hughes"}, {"Edwards", "edwards"},
			{"Patel", "patel"}, {"Khan", "khan"}, {"Lewis", "lewis"}, {"Harris", "harris"},
			{"Miller", "miller"}, {"Anderson", "anderson"}, {"Martin", "martin"}, {"Cooper", "cooper"},
		},
		langES: {
			{"García", "garcia"}, {"Rodríguez", "rodriguez"}, {"González", "gonzalez"}, {"Fernández", "fernandez"},
			{"López", "lopez"}, {"Martínez", "martinez"}, {"Sánchez", "sanchez"}, {"Pérez", "perez"},
			{"Gómez", "gomez"}, {"Martín", "martin"}, {"Jiménez", "jimenez"}, {"Ruiz", "ruiz"},
			{"Hernández", "hernandez"}, {"Díaz", "diaz"}, {"Moreno", "moreno"}, {"Muñoz", "munoz"},
			{"Álvarez", "alvarez"}, {"Romero", "romero"}, {"Alonso", "alonso"}, {"Gutiérrez", "gutierrez"},
			{"Navarro", "navarro"}, {"Torres", "torres"}, {"Domínguez", "dominguez"}, {"Vázquez", "vazquez"},
			{"Ramos", "ramos"}, {"Gil", "gil"}, {"Serrano", "serrano"}, {"Castillo", "castillo"},
			{"Ortega", "ortega"}, {"Iglesias", "iglesias"}, {"Garrido", "garrido"}, {"Castro", "castro"},
		},
	}
)

// organization is a customer's company, with the label its addresses use under example.com.
type organization struct {
	name, slug string
}

// organizations are invented; their mail goes to subdomains of example.com, which is reserved for
// documentation, so no generated address can reach a real inbox.
var organizations = []organization{
	{"Ferretería López S.L.", "ferreteria-lopez"},
	{"Northwind Traders Ltd", "northwind"},
	{"Talleres Mecánicos Ruiz", "talleres-ruiz"},
	{"Bluebell Florists", "bluebell"},
	{"Clínica Dental Sonrisas", "sonrisas"},
	{"Harbour View Hotel", "harbourview"},
	{"Distribuciones Levante S.A.", "dislevante"},
	{"Greenfield Architects", "greenfield"},
	{"Panadería Hermanos Gil", "panaderia-gil"},
	{"Oakridge Accounting LLP", "oakridge"},
	{"Academia Idiomas Babel", "babel"},
	{"Silverline Logistics", "silverline"},
	{"Bodegas Viña Alta", "vinaalta"},
	{"Riverside Veterinary Clinic", "riversidevets"},
	{"Construcciones Atlántico", "atlantico"},
	{"Maple & Finch Interiors", "maplefinch"},
	{"Librería El Quijote", "elquijote"},
	{"Summit Outdoor Gear", "summitgear"},
	{"Asesoría Fiscal Moreno", "asesoria-moreno"},
	{"Brightwave Digital", "brightwave"},
	{"Farmacia Central Valencia", "farmacia-central"},
	{"Kingfisher Travel", "kingfisher"},
	{"Transportes Rápidos del Sur", "trsur"},
	{"Copper Kettle Café", "copperkettle"},
}

// Public mail domains reserved for documentation (RFC 2606): generated addresses never belong to
// anybody.
var mailDomains = []string{"example.com", "example.org", "example.net"}

// devices, for the technical problems.
var devices = [2][]string{
	langEN: {"iPhone 15", "Pixel 8", "Samsung Galaxy S23", "Windows 11 laptop", "MacBook Air", "iPad", "Chrome on Windows", "Firefox on Ubuntu"},
	langES: {"iPhone 13", "Xiaomi Redmi Note 12", "Samsung Galaxy A54", "portátil con Windows 11", "MacBook Pro", "iPad", "Chrome en Windows", "Safari en el Mac"},
}
